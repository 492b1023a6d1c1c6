package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// body wraps an upstream response body: each read may wait at most the
// upstream's IdleTimeout, a read error counts against the target, and Close
// releases the concurrency slot and the attempt's context.
type body struct {
	rc     io.ReadCloser
	r      *Router
	t      *target
	parent context.Context // the caller's: its end is not the target's fault
	ctx    context.Context // the attempt's
	cancel context.CancelCauseFunc
	idle   time.Duration
	timer  *time.Timer // cancels ctx with ErrIdleTimeout; runs only inside Read
	start  time.Time

	failed atomic.Bool
	closed atomic.Bool
}

func newBody(r *Router, t *target, parent, ctx context.Context, cancel context.CancelCauseFunc, rc io.ReadCloser) *body {
	b := &body{rc: rc, r: r, t: t, parent: parent, ctx: ctx, cancel: cancel,
		idle: t.backend.cfg.IdleTimeout, start: time.Now()}
	b.timer = time.AfterFunc(time.Hour, func() { cancel(ErrIdleTimeout) })
	b.timer.Stop()
	return b
}

// Read reads from the upstream. Only time spent inside Read counts towards
// the idle timeout, so a slow client does not trip it.
func (b *body) Read(p []byte) (int, error) {
	b.timer.Reset(b.idle)
	n, err := b.rc.Read(p)
	b.timer.Stop()
	if err != nil && err != io.EOF {
		err = b.fail(err)
	}
	return n, err
}

func (b *body) fail(err error) error {
	kind := OutcomeStreamError
	if errors.Is(context.Cause(b.ctx), ErrIdleTimeout) {
		kind = OutcomeIdleTimeout
		err = fmt.Errorf("upstream %s: %w", b.t.backend.cfg.Name, ErrIdleTimeout)
	}
	if b.closed.Load() || b.parent.Err() != nil {
		return err
	}
	if b.failed.CompareAndSwap(false, true) {
		b.r.record(b.t, resultFail, false)
		if b.r.obs != nil {
			b.r.obs.ObserveAttempt(Attempt{Upstream: b.t.backend.cfg.Name, Model: b.t.model,
				Outcome: kind, Latency: time.Since(b.start)})
		}
	}
	return err
}

// Close closes the upstream body and releases the slot. It is safe to call
// more than once and concurrently with Read.
func (b *body) Close() error {
	if !b.closed.CompareAndSwap(false, true) {
		return nil
	}
	b.timer.Stop()
	b.cancel(nil)
	err := b.rc.Close()
	b.t.backend.release()
	return err
}
