package sanction

import (
	"sync"
	"time"
)

// userKey names one end user of one tenant.
type userKey struct{ tenantID, endUserID string }

// userState is what the request path needs to know about a user. It is
// immutable once cached: changes replace it.
type userState struct {
	active []Sanction // unlifted and unexpired when loaded
	inARow bool       // violations since the last clean input
}

// stateCache is a bounded map of user states that expire after a TTL.
// Reads take a shared lock and allocate nothing. Every drop bumps a
// generation, and a state loaded before it is not stored after it, so a
// slow load cannot put back what a change just dropped.
type stateCache struct {
	ttl int64 // nanoseconds
	max int

	mu  sync.RWMutex
	m   map[userKey]stateItem
	gen uint64
}

type stateItem struct {
	st      *userState
	expires int64 // unix nanoseconds
}

func newStateCache(ttl time.Duration, max int) *stateCache {
	return &stateCache{ttl: int64(ttl), max: max, m: make(map[userKey]stateItem)}
}

func (c *stateCache) get(k userKey, now time.Time) (*userState, bool) {
	c.mu.RLock()
	it, ok := c.m[k]
	c.mu.RUnlock()
	if !ok || now.UnixNano() >= it.expires {
		return nil, false
	}
	return it.st, true
}

func (c *stateCache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// putIfCurrent stores st unless the cache changed since gen.
func (c *stateCache) putIfCurrent(k userKey, st *userState, gen uint64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.m) >= c.max {
		c.evict(now.UnixNano())
	}
	c.m[k] = stateItem{st: st, expires: now.UnixNano() + c.ttl}
}

// evict makes room: expired entries first, then arbitrary ones (map order
// is random) until an eighth of the cache is free.
func (c *stateCache) evict(now int64) {
	for k, it := range c.m {
		if now >= it.expires {
			delete(c.m, k)
		}
	}
	for k := range c.m {
		if len(c.m) < c.max-c.max/8 {
			break
		}
		delete(c.m, k)
	}
}

// drop removes k and makes loads that started earlier not store.
func (c *stateCache) drop(k userKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.m, k)
}

// clearInARow marks k clean if nothing changed since gen.
func (c *stateCache) clearInARow(k userKey, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	it, ok := c.m[k]
	if !ok || gen != c.gen {
		return
	}
	st := *it.st
	st.inARow = false
	it.st = &st
	c.m[k] = it
}
