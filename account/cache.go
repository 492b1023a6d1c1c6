package account

import (
	"sync"
	"time"
)

// cache is a bounded map whose entries expire after a TTL. Reads take a
// shared lock and allocate nothing. Every invalidation bumps a generation,
// and a value loaded before it is not stored after it (putIfCurrent), so a
// slow database read cannot put back an entry that was just invalidated.
type cache[K comparable, V any] struct {
	ttl int64 // nanoseconds
	max int

	mu  sync.RWMutex
	m   map[K]cacheItem[V]
	gen uint64
}

type cacheItem[V any] struct {
	v       V
	expires int64 // unix nanoseconds
}

func newCache[K comparable, V any](ttl time.Duration, max int) *cache[K, V] {
	return &cache[K, V]{ttl: int64(ttl), max: max, m: make(map[K]cacheItem[V])}
}

func (c *cache[K, V]) get(k K, now time.Time) (V, bool) {
	c.mu.RLock()
	it, ok := c.m[k]
	c.mu.RUnlock()
	if !ok || now.UnixNano() >= it.expires {
		var zero V
		return zero, false
	}
	return it.v, true
}

// generation returns the token to pass to putIfCurrent.
func (c *cache[K, V]) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// putIfCurrent stores v unless the cache was invalidated since gen.
func (c *cache[K, V]) putIfCurrent(k K, v V, gen uint64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.m) >= c.max {
		c.evict(now.UnixNano())
	}
	c.m[k] = cacheItem[V]{v: v, expires: now.UnixNano() + c.ttl}
}

// evict makes room: expired entries first, then arbitrary ones (map order
// is random) until an eighth of the cache is free.
func (c *cache[K, V]) evict(now int64) {
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

// deleteFunc removes the entries for which drop returns true.
func (c *cache[K, V]) deleteFunc(drop func(K, V) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for k, it := range c.m {
		if drop(k, it.v) {
			delete(c.m, k)
		}
	}
}

func (c *cache[K, V]) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.m)
}

func (c *cache[K, V]) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
