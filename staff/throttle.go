package staff

import (
	"sync"
	"time"
)

// throttle caps login attempts per source address in a sliding minute,
// whatever account they aim at, so one address cannot guess passwords of
// many accounts below each account's lockout. It is per replica.
type throttle struct {
	mu    sync.Mutex
	rate  int
	seen  map[string][]time.Time
	sweep time.Time
}

func newThrottle(rate int) *throttle { return &throttle{rate: rate, seen: map[string][]time.Time{}} }

// allow records an attempt from src at now and reports whether it is
// within the rate.
func (t *throttle) allow(src string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	cut := now.Add(-time.Minute)
	if now.Sub(t.sweep) > time.Minute { // forget quiet sources
		for k, v := range t.seen {
			if len(v) == 0 || v[len(v)-1].Before(cut) {
				delete(t.seen, k)
			}
		}
		t.sweep = now
	}
	v := t.seen[src]
	i := 0
	for i < len(v) && v[i].Before(cut) {
		i++
	}
	v = v[i:]
	if len(v) >= t.rate {
		t.seen[src] = v
		return false
	}
	t.seen[src] = append(v, now)
	return true
}
