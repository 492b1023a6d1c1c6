package identity

import (
	"sync"
	"time"
)

// stateCache holds verification states by end-user ID for a TTL. Reads take
// a shared lock and allocate nothing. Every invalidation bumps a
// generation, and a state read from the database before it is not stored
// after it, so a slow read cannot bring back what was just invalidated.
type stateCache struct {
	ttl int64 // nanoseconds
	max int

	mu  sync.RWMutex
	m   map[string]cached
	gen uint64
}

type cached struct {
	s       *State
	expires int64 // unix nanoseconds
}

func newStateCache(ttl time.Duration, max int) *stateCache {
	return &stateCache{ttl: int64(ttl), max: max, m: make(map[string]cached)}
}

func (c *stateCache) get(userID string, now time.Time) (*State, bool) {
	c.mu.RLock()
	it, ok := c.m[userID]
	c.mu.RUnlock()
	if !ok || now.UnixNano() >= it.expires {
		return nil, false
	}
	return it.s, true
}

func (c *stateCache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// putIfCurrent stores s unless the cache was invalidated since gen.
func (c *stateCache) putIfCurrent(s *State, gen uint64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.m) >= c.max {
		c.evict(now.UnixNano())
	}
	c.m[s.UserID] = cached{s: s, expires: now.UnixNano() + c.ttl}
}

// evict drops expired entries, then arbitrary ones (map order is random)
// until an eighth of the cache is free.
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

// drop removes one user, or everyone when userID is "".
func (c *stateCache) drop(userID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if userID == "" {
		clear(c.m)
		return
	}
	delete(c.m, userID)
}

func (c *stateCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
