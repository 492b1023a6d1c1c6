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
//
// It is made before the request is sent: its one timer first bounds the wait
// for the response headers (FirstByteTimeout), then each Read, so an attempt
// needs one timer and one closure, not two of each.
type body struct {
	rc     io.ReadCloser
	r      *Router
	t      *target
	parent context.Context // the caller's: its end is not the target's fault
	ctx    context.Context // the attempt's
	cancel context.CancelCauseFunc
	idle   time.Duration
	timer  *time.Timer // cancels ctx: errFirstByte, then ErrIdleTimeout and only inside Read
	start  time.Time
	read   atomic.Bool // the headers came: the timer now bounds reads

	failed atomic.Bool
	closed atomic.Bool
}

// newBody starts the attempt's timer at first, the time allowed for the
// response headers; the caller stops it when they come, and hands the body
// out with opened once they did.
func newBody(r *Router, t *target, parent, ctx context.Context, cancel context.CancelCauseFunc, first time.Duration) *body {
	b := &body{r: r, t: t, parent: parent, ctx: ctx, cancel: cancel, idle: t.backend.cfg.IdleTimeout}
	b.timer = time.AfterFunc(first, b.expire)
	return b
}

// expire cancels the attempt with the cause of the phase it is in.
func (b *body) expire() {
	if b.read.Load() {
		b.cancel(ErrIdleTimeout)
	} else {
		b.cancel(errFirstByte)
	}
}

// opened makes b read rc, the response body; the timer must be stopped.
func (b *body) opened(rc io.ReadCloser) *body {
	b.rc, b.start = rc, time.Now()
	b.read.Store(true)
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
