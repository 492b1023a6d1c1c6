package limit

import (
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const shardCount = 64

// subjects is the in-memory state of every subject seen recently, sharded
// so that concurrent requests for different subjects rarely share a lock.
type subjects struct {
	seed   maphash.Seed
	shards [shardCount]shard
}

type shard struct {
	mu sync.RWMutex
	m  map[string]*entry
}

// entry is one subject's state. Windows and slots are used only without
// Redis; quota fields are used with both backends.
type entry struct {
	name string

	mu       sync.Mutex
	evicted  bool
	lastUsed int64   // unix nanos
	req      *window // RPM, allocated on first use
	tok      *window // TPM, allocated on first use
	slots    []slot
	quota    quotaState

	loaded atomic.Bool // quota.base holds the store's usage
	ioMu   sync.Mutex  // serialises Usage and AddUsage calls for the subject
}

type slot struct {
	id    uint64
	until int64 // unix nanos
}

func (s *subjects) init() {
	s.seed = maphash.MakeSeed()
	for i := range s.shards {
		s.shards[i].m = make(map[string]*entry)
	}
}

// get returns the entry for name, creating it if needed.
func (s *subjects) get(name string) *entry {
	sh := &s.shards[maphash.String(s.seed, name)&(shardCount-1)]
	sh.mu.RLock()
	e := sh.m[name]
	sh.mu.RUnlock()
	if e != nil {
		return e
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if e = sh.m[name]; e == nil {
		e = &entry{name: strings.Clone(name)}
		sh.m[e.name] = e
	}
	return e
}

// lockLive locks e, or, if it was evicted meanwhile, the entry that now
// stands for its name.
func (s *subjects) lockLive(e *entry) *entry {
	for {
		e.mu.Lock()
		if !e.evicted {
			return e
		}
		e.mu.Unlock()
		e = s.get(e.name)
	}
}

// sweep evicts entries unused since before cutoff that hold nothing.
func (s *subjects) sweep(cutoff time.Time) (evicted int) {
	c := cutoff.UnixNano()
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for name, e := range sh.m {
			e.mu.Lock()
			if e.idle(c) {
				e.evicted = true
				delete(sh.m, name)
				evicted++
			}
			e.mu.Unlock()
		}
		sh.mu.Unlock()
	}
	return evicted
}

// idle reports whether e can be forgotten: it was last used before cutoff
// (which is more than a window ago), so its windows are empty, and it holds
// no slot and no unflushed usage.
func (e *entry) idle(cutoff int64) bool {
	return e.lastUsed < cutoff && len(e.slots) == 0 && e.quota.pending == 0 && e.quota.inflight == 0
}

// len counts live entries (for tests).
func (s *subjects) len() (n int) {
	for i := range s.shards {
		s.shards[i].mu.RLock()
		n += len(s.shards[i].m)
		s.shards[i].mu.RUnlock()
	}
	return n
}

// admit checks lim against e at now and, if it passes, records the request
// and takes a slot with the given id. e must be locked.
func (e *entry) admit(now time.Time, lim Limits, id uint64, ttl time.Duration) (Kind, time.Duration) {
	sec, ns := now.Unix(), now.UnixNano()
	e.lastUsed = ns
	if lim.RPM > 0 {
		if e.req == nil {
			e.req = new(window)
		}
		e.req.advance(sec)
		if !e.req.admits(lim.RPM) {
			return KindRPM, e.req.retryAfter(now, lim.RPM)
		}
	}
	if lim.TPM > 0 && e.tok != nil {
		e.tok.advance(sec)
		if !e.tok.admits(lim.TPM) {
			return KindTPM, e.tok.retryAfter(now, lim.TPM)
		}
	}
	if lim.Concurrent > 0 && !e.freeSlot(ns, lim.Concurrent) {
		return KindConcurrent, time.Second
	}
	if lim.RPM > 0 {
		e.req.add(sec, 1)
	}
	if lim.Concurrent > 0 {
		e.slots = append(e.slots, slot{id: id, until: ns + int64(ttl)})
	}
	return 0, 0
}

// undo reverses a successful admit made at now. e must be locked.
func (e *entry) undo(now time.Time, lim Limits, id uint64) {
	if lim.RPM > 0 {
		e.req.add(now.Unix(), -1)
	}
	if lim.Concurrent > 0 {
		e.release(id)
	}
}

// freeSlot reports whether fewer than limit slots are held, dropping
// expired leases first when the cap is reached.
func (e *entry) freeSlot(now int64, limit int) bool {
	if len(e.slots) < limit {
		return true
	}
	live := e.slots[:0]
	for _, s := range e.slots {
		if s.until > now {
			live = append(live, s)
		}
	}
	clear(e.slots[len(live):])
	e.slots = live
	return len(e.slots) < limit
}

func (e *entry) release(id uint64) {
	for i, s := range e.slots {
		if s.id == id {
			last := len(e.slots) - 1
			e.slots[i] = e.slots[last]
			e.slots = e.slots[:last]
			return
		}
	}
}

// record adds tokens used at now to the TPM window. e must be locked.
func (e *entry) record(now time.Time, tokens int64) {
	if e.tok == nil {
		e.tok = new(window)
	}
	e.tok.add(now.Unix(), tokens)
}
