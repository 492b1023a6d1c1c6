package audit

import (
	"context"
	"slices"
	"time"
)

// Group commit without a writer goroutine. The first Append that finds no
// batch being written becomes the leader: on its own goroutine it takes
// every append waiting (up to MaxBatch), writes them in one transaction and
// wakes their callers. Appends that arrive meanwhile wait; when the leader's
// batch has committed it hands the lead to the oldest of them, which writes
// the next batch, and returns. So a lone append is written by its own
// caller with no hand-off between goroutines at all, and under load each
// append waits for one wake-up (its result, or the lead), where a writer
// goroutine cost two (the writer's, then the caller's).

// pending is one Append waiting for its transaction.
type pending struct {
	row   *row
	canon []byte      // row.canonical(), computed by the caller
	wake  chan wakeup // the batch's result, or the lead; buffered
	// Under Trail.mu:
	leader    bool // the lead was handed to this append
	abandoned bool // its caller gave up waiting (context ended)
}

// wakeup is what a waiting append is woken with.
type wakeup struct {
	err  error
	lead bool // write the next batch, then wait for the result
}

// enqueue adds p to the waiting appends and reports whether the caller
// must lead. It fails with ErrClosed after Close, or when ctx ends while
// the queue is full.
func (t *Trail) enqueue(ctx context.Context, p *pending) (lead bool, err error) {
	select {
	case t.slots <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		<-t.slots
		return false, ErrClosed
	}
	t.waiting = append(t.waiting, p)
	if t.leading {
		return false, nil
	}
	t.leading = true
	return true, nil
}

// follow waits for p's batch. Should the lead come first, it writes
// batches until its own is written.
func (t *Trail) follow(ctx context.Context, p *pending) error {
	select {
	case w := <-p.wake:
		if w.lead {
			t.lead(p)
			w = <-p.wake
		}
		return w.err
	case <-ctx.Done():
	}
	t.mu.Lock()
	handed := p.leader
	p.abandoned = !handed
	t.mu.Unlock()
	if handed {
		// The lead is on its way: it must not be lost.
		<-p.wake
		t.lead(p)
	}
	return ctx.Err()
}

// lead writes batches of waiting appends until the one that holds self
// has committed, then hands the lead to the oldest waiting append, or ends
// it when none waits.
func (t *Trail) lead(self *pending) {
	batch := make([]*pending, 0, min(t.opts.MaxBatch, 64))
	written := false
	for {
		batch = t.take(batch[:0])
		written = written || slices.Contains(batch, self)
		t.commit(batch)
		for range batch {
			<-t.slots
		}
		if !written {
			continue
		}
		next, done := t.handOver()
		if next != nil {
			next.wake <- wakeup{lead: true}
		}
		if done {
			return
		}
	}
}

// take moves up to MaxBatch waiting appends into batch. When more than one
// was waiting, appends arrive faster than batches commit: it then waits
// BatchWait (if set) for more, so that one commit serves more of them.
func (t *Trail) take(batch []*pending) []*pending {
	t.mu.Lock()
	batch = t.takeLocked(batch)
	t.mu.Unlock()
	if len(batch) == 1 || len(batch) == t.opts.MaxBatch || t.opts.BatchWait <= 0 {
		return batch
	}
	time.Sleep(t.opts.BatchWait)
	t.mu.Lock()
	batch = t.takeLocked(batch)
	t.mu.Unlock()
	return batch
}

func (t *Trail) takeLocked(batch []*pending) []*pending {
	n := min(len(t.waiting), t.opts.MaxBatch-len(batch))
	batch = append(batch, t.waiting[:n]...)
	clear(t.waiting[:n])
	t.waiting = t.waiting[n:]
	if len(t.waiting) == 0 {
		t.waiting = t.waiting[:0:0] // let the backing array go once drained
	}
	return batch
}

// handOver picks who writes the next batch: the oldest waiting append
// whose caller still waits (next), or nobody (done: the lead ends or, when
// only abandoned appends wait, stays with the caller, done false).
func (t *Trail) handOver() (next *pending, done bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.waiting) == 0 {
		t.leading = false
		t.idle.Broadcast()
		return nil, true
	}
	for _, p := range t.waiting {
		if !p.abandoned {
			p.leader = true
			return p, true
		}
	}
	return nil, false
}

// commit writes batch and reports to every waiter. When a batch of several
// fails, each record is retried alone so that one bad record (say, a
// duplicate id) fails only its own Append.
func (t *Trail) commit(batch []*pending) {
	err := t.writeBatch(batch)
	if err != nil && len(batch) > 1 {
		for _, p := range batch {
			p.wake <- wakeup{err: t.writeBatch([]*pending{p})}
		}
		return
	}
	if err != nil {
		t.log.Error("audit append failed", "records", len(batch), "err", err)
	}
	for _, p := range batch {
		p.wake <- wakeup{err: err}
	}
}
