package limit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// quotaState is a subject's lifetime usage as this replica knows it:
// base (the store's total when last read or written) plus what was recorded
// since and is not yet flushed.
type quotaState struct {
	base     int64
	pending  int64 // recorded, not yet sent to the store
	inflight int64 // being sent to the store
}

func (q *quotaState) used() int64 { return q.base + q.pending + q.inflight }

// tracksQuota reports whether usage of lim must be counted at all.
func (l *Limiter) tracksQuota(lim Limits) bool {
	return lim.TokenQuota > 0 || l.opts.Quota != nil
}

// checkQuota loads e's usage on first sight and reports whether it is below
// quota. A store failure is handled by backendFailed (open or closed).
func (l *Limiter) checkQuota(ctx context.Context, e *entry, quota int64, now time.Time) (ok bool, err error) {
	if quota <= 0 {
		return true, nil
	}
	if l.opts.Quota != nil && !e.loaded.Load() {
		if err := l.loadUsage(ctx, e); err != nil {
			if ctx.Err() != nil {
				return false, fmt.Errorf("load quota usage: %w", ctx.Err())
			}
			if refusal := l.backendFailed("load quota usage", err); refusal != nil {
				return false, refusal
			}
			return true, nil // fail open: admit until the store answers
		}
	}
	e.mu.Lock()                                  // an entry evicted meanwhile still holds a valid total
	e.lastUsed = max(e.lastUsed, now.UnixNano()) // keeps the loaded total cached
	used := e.quota.used()
	e.mu.Unlock()
	return used < quota, nil
}

// loadUsage reads e's total from the store. Holding ioMu keeps it from
// racing a flush, so base never double-counts or misses a delta.
func (l *Limiter) loadUsage(ctx context.Context, e *entry) error {
	e.ioMu.Lock()
	defer e.ioMu.Unlock()
	if e.loaded.Load() {
		return nil
	}
	n, err := l.opts.Quota.Usage(ctx, e.name)
	if err != nil {
		return err
	}
	e.mu.Lock()
	e.quota.base = n
	e.mu.Unlock()
	e.loaded.Store(true)
	return nil
}

// Flush writes every subject's unflushed token usage to the QuotaStore and
// refreshes each flushed subject's total, so that usage recorded by other
// replicas is seen. Without a QuotaStore it does nothing. Usage that fails
// to flush stays pending for the next try.
func (l *Limiter) Flush(ctx context.Context) error {
	if l.opts.Quota == nil {
		return nil
	}
	var errs []error
	for _, e := range l.subj.pending() {
		if err := l.flushOne(ctx, e); err != nil {
			errs = append(errs, err)
			if l.opts.OnBackendError != nil {
				l.opts.OnBackendError(err)
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("flush quota usage of %d subjects: %w", len(errs), errors.Join(errs...))
	}
	return nil
}

func (l *Limiter) flushOne(ctx context.Context, e *entry) error {
	e.ioMu.Lock()
	defer e.ioMu.Unlock()
	e.mu.Lock()
	n := e.quota.pending
	e.quota.pending, e.quota.inflight = 0, n
	e.mu.Unlock()
	if n == 0 {
		return nil
	}
	err := l.opts.Quota.AddUsage(ctx, e.name, n)
	e.mu.Lock()
	e.quota.inflight = 0
	if err != nil {
		e.quota.pending += n
	} else {
		e.quota.base += n
	}
	e.mu.Unlock()
	if err != nil {
		return fmt.Errorf("add usage: %w", err)
	}
	if !e.loaded.Load() {
		return nil
	}
	total, err := l.opts.Quota.Usage(ctx, e.name)
	if err != nil {
		return fmt.Errorf("refresh usage: %w", err)
	}
	e.mu.Lock()
	e.quota.base = total
	e.mu.Unlock()
	return nil
}

// pending lists entries with unflushed usage.
func (s *subjects) pending() []*entry {
	var out []*entry
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		for _, e := range sh.m {
			e.mu.Lock()
			if e.quota.pending != 0 {
				out = append(out, e)
			}
			e.mu.Unlock()
		}
		sh.mu.RUnlock()
	}
	return out
}
