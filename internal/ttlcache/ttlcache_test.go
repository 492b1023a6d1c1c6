package ttlcache

import (
	"testing"
	"time"
)

func TestCache(t *testing.T) {
	t0 := time.Unix(1000, 0)
	t.Run("expires after ttl", func(t *testing.T) {
		c := New[string, int](time.Second, 10)
		c.PutIfCurrent("a", 1, c.Generation(), t0)
		if v, ok := c.Get("a", t0.Add(999*time.Millisecond)); !ok || v != 1 {
			t.Fatalf("get before ttl = %d, %v", v, ok)
		}
		if _, ok := c.Get("a", t0.Add(time.Second)); ok {
			t.Fatal("entry alive at ttl")
		}
	})
	t.Run("bounded", func(t *testing.T) {
		c := New[int, int](time.Minute, 16)
		for i := range 1000 {
			c.PutIfCurrent(i, i, c.Generation(), t0)
			if c.Len() > 16 {
				t.Fatalf("cache holds %d entries, max 16", c.Len())
			}
		}
		if _, ok := c.Get(999, t0); !ok {
			t.Fatal("the newest entry was evicted")
		}
	})
	t.Run("expired entries go first", func(t *testing.T) {
		c := New[int, int](time.Second, 4)
		for i := range 3 {
			c.PutIfCurrent(i, i, c.Generation(), t0)
		}
		c.PutIfCurrent(10, 10, c.Generation(), t0.Add(500*time.Millisecond))
		later := t0.Add(1200 * time.Millisecond) // 0..2 expired, 10 alive
		c.PutIfCurrent(11, 11, c.Generation(), later)
		if _, ok := c.Get(10, later); !ok {
			t.Fatal("a live entry was evicted while expired ones remained")
		}
	})
	t.Run("no stale put after invalidation", func(t *testing.T) {
		c := New[string, int](time.Minute, 10)
		gen := c.Generation() // a load starts
		c.DeleteFunc(func(string, int) bool { return true })
		c.PutIfCurrent("a", 1, gen, t0) // and finishes after the invalidation
		if _, ok := c.Get("a", t0); ok {
			t.Fatal("value loaded before an invalidation was cached")
		}
	})
}
