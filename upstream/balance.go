package upstream

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// backend is one upstream server with its concurrency slots.
type backend struct {
	cfg      Config
	rt       http.RoundTripper
	bearer   string // "Bearer <key>", built once
	inflight atomic.Int64
}

func (b *backend) hasRoom() bool {
	return b.cfg.MaxConcurrent == 0 || b.inflight.Load() < int64(b.cfg.MaxConcurrent)
}

// acquire takes a concurrency slot; it fails when the upstream is at its cap.
func (b *backend) acquire() bool {
	if b.cfg.MaxConcurrent == 0 {
		b.inflight.Add(1)
		return true
	}
	for {
		n := b.inflight.Load()
		if n >= int64(b.cfg.MaxConcurrent) {
			return false
		}
		if b.inflight.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (b *backend) release() { b.inflight.Add(-1) }

// target is one upstream model. Its passive health is shared by every public
// model that lists the same upstream and model.
type target struct {
	backend *backend
	model   string

	mu      sync.Mutex
	fails   int       // consecutive failures
	ejected bool      // no traffic until `until`, then one probe at a time
	until   time.Time // end of the ejection
	probing bool      // a probe is in flight
}

// eligible reports whether the target may take a request now, and if not
// because it is ejected, how long until a probe may go.
func (t *target) eligible(now time.Time) (bool, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.ejected {
		return true, 0
	}
	if wait := t.until.Sub(now); wait > 0 {
		return false, wait
	}
	return !t.probing, 0
}

// claim marks the start of an attempt; it fails when the target became
// ineligible meanwhile. probe is true for the one half-open probe.
func (t *target) claim(now time.Time) (ok, probe bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.ejected {
		return true, false
	}
	if now.Before(t.until) || t.probing {
		return false, false
	}
	t.probing = true
	return true, true
}

type result int

const (
	resultNeutral result = iota // the caller went away: says nothing about the target
	resultOK
	resultFail
)

// record updates the target's health with the result of an attempt.
func (r *Router) record(t *target, res result, probe bool) {
	t.mu.Lock()
	changed := false
	switch res {
	case resultOK:
		t.fails = 0
		changed = t.ejected
		t.ejected = false
	case resultFail:
		t.fails++
		if t.ejected && probe {
			t.until = r.now().Add(r.ejectFor)
		} else if !t.ejected && t.fails >= r.ejectAfter {
			t.ejected, t.until, changed = true, r.now().Add(r.ejectFor), true
		}
	}
	if probe {
		t.probing = false
	}
	ejected, fails := t.ejected, t.fails
	t.mu.Unlock()
	if !changed {
		return
	}
	name := t.backend.cfg.Name
	if ejected {
		r.log.Warn("upstream target ejected", "upstream", name, "upstream_model", t.model,
			"consecutive_failures", fails, "eject_for", r.ejectFor)
	} else {
		r.log.Info("upstream target restored", "upstream", name, "upstream_model", t.model)
	}
	if r.obs != nil {
		r.obs.ObserveEjection(name, t.model, ejected)
	}
}

// modelEntry is a public model with its targets and balancing state.
type modelEntry struct {
	model   *Model
	targets []*target

	mu      sync.Mutex
	current []int // smooth weighted round-robin state, one per target
}

// pick chooses a target among those not in tried, with smooth weighted
// round-robin (nginx's): every eligible target gains its weight, the one with
// the highest running total is chosen and loses the sum of the weights. The
// sequence is deterministic and spreads each target's turns evenly. The
// chosen target is claimed and holds a concurrency slot. When none is
// eligible, pick returns -1 and the shortest wait until an ejected target
// may be probed (0 when the targets are only at capacity).
func (e *modelEntry) pick(tried uint64, now time.Time) (idx int, probe bool, wait time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for {
		best, total := -1, 0
		for i, t := range e.targets {
			if tried&(1<<i) != 0 {
				continue
			}
			ok, w := t.eligible(now)
			if !ok {
				if w > 0 && (wait == 0 || w < wait) {
					wait = w
				}
				continue
			}
			if !t.backend.hasRoom() {
				continue
			}
			e.current[i] += t.backend.cfg.Weight
			total += t.backend.cfg.Weight
			if best < 0 || e.current[i] > e.current[best] {
				best = i
			}
		}
		if best < 0 {
			return -1, false, wait
		}
		e.current[best] -= total
		t := e.targets[best]
		if ok, probe := t.claim(now); ok {
			if t.backend.acquire() {
				return best, probe, 0
			}
			if probe {
				t.mu.Lock()
				t.probing = false
				t.mu.Unlock()
			}
		}
		tried |= 1 << best // lost a race for the slot or the probe: try the others
	}
}
