// Package ttlcache is the bounded, expiring, invalidation-safe cache that
// the per-request lookups of accounts, identity and sanctions share. Reads
// take a shared lock and allocate nothing. Every invalidation bumps a
// generation, and a value loaded before it is not stored after it
// (PutIfCurrent), so a slow database read cannot put back an entry that
// was just invalidated.
package ttlcache

import (
	"sync"
	"time"
)

// Cache is a bounded map whose entries expire after a TTL. It is safe for
// concurrent use.
type Cache[K comparable, V any] struct {
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

// New returns a cache whose entries live ttl and which holds at most max.
func New[K comparable, V any](ttl time.Duration, max int) *Cache[K, V] {
	return &Cache[K, V]{ttl: int64(ttl), max: max, m: make(map[K]cacheItem[V])}
}

// Get returns the live entry for k.
func (c *Cache[K, V]) Get(k K, now time.Time) (V, bool) {
	c.mu.RLock()
	it, ok := c.m[k]
	c.mu.RUnlock()
	if !ok || now.UnixNano() >= it.expires {
		var zero V
		return zero, false
	}
	return it.v, true
}

// Generation returns the token to pass to PutIfCurrent: take it before
// loading a value.
func (c *Cache[K, V]) Generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// PutIfCurrent stores v unless the cache was invalidated since gen.
func (c *Cache[K, V]) PutIfCurrent(k K, v V, gen uint64, now time.Time) {
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
func (c *Cache[K, V]) evict(now int64) {
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

// DeleteFunc removes the entries for which drop returns true.
func (c *Cache[K, V]) DeleteFunc(drop func(K, V) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for k, it := range c.m {
		if drop(k, it.v) {
			delete(c.m, k)
		}
	}
}

// Clear removes every entry.
func (c *Cache[K, V]) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.m)
}

// Len is the number of entries, live or expired.
func (c *Cache[K, V]) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

// Delete removes k.
func (c *Cache[K, V]) Delete(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.m, k)
}

// UpdateIfCurrent replaces k's value with f(value), keeping its expiry,
// if k is cached and nothing was invalidated since gen.
func (c *Cache[K, V]) UpdateIfCurrent(k K, gen uint64, f func(V) V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	it, ok := c.m[k]
	if !ok || gen != c.gen {
		return
	}
	it.v = f(it.v)
	c.m[k] = it
}
