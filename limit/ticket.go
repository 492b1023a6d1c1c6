package limit

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// Ticket is an admitted request. Done must be called when it ends.
type Ticket struct {
	l    *Limiter
	done atomic.Bool
	at   time.Time // when it was admitted
	id   uint64    // names its concurrency slots
	n    int
	hold [2]hold // the common case: key and user, without another allocation
	more []hold

	redisSlot string // the slot member in Redis; "" when Redis holds nothing
}

// hold is what a ticket holds for one subject.
type hold struct {
	Subject
	e     *entry // nil when the subject keeps no in-memory state
	quota bool   // usage counts towards a quota
}

func (t *Ticket) holds() []hold {
	if t.more != nil {
		return t.more
	}
	return t.hold[:t.n]
}

// AcquireAll admits a request for all subjects or for none: if one subject
// refuses, what earlier subjects took is given back. Subjects without limits
// cost nothing. A refusal is an *clienterr.Error naming the limit.
func (l *Limiter) AcquireAll(ctx context.Context, subjects []Subject) (*Ticket, error) {
	t := &Ticket{l: l, at: l.opts.Now(), n: len(subjects)}
	hs := t.hold[:0]
	if len(subjects) > len(t.hold) {
		t.more = make([]hold, len(subjects))
		hs = t.more[:0]
	}
	for i, s := range subjects {
		if err := s.Limits.validate(); err != nil {
			return nil, fmt.Errorf("limits of subject %d: %w", i, err)
		}
		h := hold{Subject: s, quota: l.tracksQuota(s.Limits)}
		if h.quota || (l.redis == nil && s.Limits.windowed()) {
			h.e = l.subj.get(s.Name)
		}
		hs = append(hs, h)
	}
	for i := range hs {
		h := &hs[i]
		if h.e == nil || h.Limits.TokenQuota == 0 {
			continue
		}
		ok, err := l.checkQuota(ctx, h.e, h.Limits.TokenQuota, t.at)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, l.refuse(KindQuota, h.Subject, 0)
		}
	}
	if l.redis != nil {
		return t, l.redisAdmit(ctx, t)
	}
	if kind, i, wait := l.memAdmit(t); kind != 0 {
		return nil, l.refuse(kind, hs[i].Subject, wait)
	}
	return t, nil
}

// memAdmit locks the subjects' entries in name order (so concurrent calls
// cannot deadlock), admits each in turn and undoes the earlier ones if a
// later one refuses. It returns the refusing kind and subject index.
func (l *Limiter) memAdmit(t *Ticket) (Kind, int, time.Duration) {
	hs := t.holds()
	var obuf, lbuf [4]int
	order := sortedByName(hs, obuf[:0])
	locked := lbuf[:0]
	for _, i := range order {
		if !hs[i].Limits.windowed() {
			continue
		}
		if n := len(locked); n > 0 && hs[locked[n-1]].Name == hs[i].Name {
			hs[i].e = hs[locked[n-1]].e // the same subject twice: already locked
			continue
		}
		hs[i].e = l.subj.lockLive(hs[i].e)
		locked = append(locked, i)
	}
	defer func() {
		for _, i := range locked {
			hs[i].e.mu.Unlock()
		}
	}()
	t.id = l.slotSeq.Add(1)
	for i := range hs {
		if !hs[i].Limits.windowed() {
			continue
		}
		kind, wait := hs[i].e.admit(t.at, hs[i].Limits, t.id, l.opts.SlotTTL)
		if kind != 0 {
			for j := range i {
				if hs[j].Limits.windowed() {
					hs[j].e.undo(t.at, hs[j].Limits, t.id)
				}
			}
			return kind, i, wait
		}
	}
	return 0, 0, 0
}

// sortedByName returns the indices of hs ordered by subject name.
func sortedByName(hs []hold, dst []int) []int {
	for i := range hs {
		dst = append(dst, i)
		for j := len(dst) - 1; j > 0 && hs[dst[j]].Name < hs[dst[j-1]].Name; j-- {
			dst[j], dst[j-1] = dst[j-1], dst[j]
		}
	}
	return dst
}

// Done ends the request: it frees its concurrency slots and records the
// tokens it used against TPM and the quota. Calls after the first do nothing.
func (t *Ticket) Done(tokens int64) {
	if t == nil || !t.done.CompareAndSwap(false, true) {
		return
	}
	l := t.l
	tokens = max(tokens, 0)
	var now time.Time // read only when needed: the clock is not free
	if t.redisSlot != "" {
		now = l.opts.Now()
		l.redisRelease(t, tokens, now)
	}
	for _, h := range t.holds() {
		if h.e == nil {
			continue
		}
		e := l.subj.lockLive(h.e)
		if l.redis == nil {
			if h.Limits.Concurrent > 0 {
				e.release(t.id)
			}
			if h.Limits.TPM > 0 && tokens > 0 {
				if now.IsZero() {
					now = l.opts.Now()
				}
				e.record(now, tokens)
				e.lastUsed = max(e.lastUsed, now.UnixNano()) // keep it until the tokens leave
			}
		}
		if h.quota {
			e.quota.pending += tokens
		}
		e.mu.Unlock()
	}
}
