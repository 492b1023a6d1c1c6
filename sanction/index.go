package sanction

import (
	"net/netip"
	"slices"
	"time"
)

// index holds the blacklist in memory for Blocked: exact maps for ids and
// hashes, and one map per IP prefix length in use, so a lookup costs one
// map probe per length that has entries, however many prefixes there are.
type index struct {
	byID  map[string]*Entry
	exact map[exactKey]*Entry
	nets  map[netKey]*Entry
	lens  map[string]*prefixLens // by tenant
}

type exactKey struct {
	tenantID string
	kind     Kind
	value    string
}

type netKey struct {
	tenantID string
	prefix   netip.Prefix
}

// prefixLens counts a tenant's prefixes by length and lists the lengths in
// use, longest first, for each address family.
type prefixLens struct {
	n4     [33]int
	n6     [129]int
	v4, v6 []int
}

func newIndex() *index {
	return &index{
		byID:  map[string]*Entry{},
		exact: map[exactKey]*Entry{},
		nets:  map[netKey]*Entry{},
		lens:  map[string]*prefixLens{},
	}
}

// put adds e, replacing the entry with the same id or the same key.
func (ix *index) put(e *Entry) {
	ix.remove(e.ID)
	if e.Kind == KindIP {
		k := netKey{e.TenantID, e.prefix}
		if old, ok := ix.nets[k]; ok {
			ix.remove(old.ID)
		}
		ix.nets[k] = e
		ix.countPrefix(e.TenantID, e.prefix, +1)
	} else {
		k := exactKey{e.TenantID, e.Kind, e.Value}
		if old, ok := ix.exact[k]; ok {
			ix.remove(old.ID)
		}
		ix.exact[k] = e
	}
	ix.byID[e.ID] = e
}

// remove drops the entry with the given id, if present.
func (ix *index) remove(id string) {
	e, ok := ix.byID[id]
	if !ok {
		return
	}
	delete(ix.byID, id)
	if e.Kind == KindIP {
		delete(ix.nets, netKey{e.TenantID, e.prefix})
		ix.countPrefix(e.TenantID, e.prefix, -1)
		return
	}
	delete(ix.exact, exactKey{e.TenantID, e.Kind, e.Value})
}

func (ix *index) countPrefix(tenantID string, p netip.Prefix, d int) {
	pl := ix.lens[tenantID]
	if pl == nil {
		pl = &prefixLens{}
		ix.lens[tenantID] = pl
	}
	if p.Addr().Is4() {
		pl.n4[p.Bits()] += d
		pl.v4 = inUse(pl.n4[:])
	} else {
		pl.n6[p.Bits()] += d
		pl.v6 = inUse(pl.n6[:])
	}
	if len(pl.v4) == 0 && len(pl.v6) == 0 {
		delete(ix.lens, tenantID)
	}
}

// inUse lists the lengths with a non-zero count, longest first.
func inUse(n []int) []int {
	var out []int
	for bits, c := range n {
		if c > 0 {
			out = append(out, bits)
		}
	}
	slices.Reverse(out)
	return out
}

// lookup returns the tenant's first live entry that matches sub.
func (ix *index) lookup(tenantID string, sub *Subject, now time.Time) *Entry {
	for _, p := range [...]struct {
		kind  Kind
		value string
	}{{KindUser, sub.EndUserID}, {KindDevice, sub.DeviceID}, {KindPhone, sub.PhoneHash}, {KindIDNumber, sub.IDHash}} {
		if p.value == "" {
			continue
		}
		if e := ix.exact[exactKey{tenantID, p.kind, p.value}]; e != nil && e.liveAt(now) {
			return e
		}
	}
	if !sub.IP.IsValid() {
		return nil
	}
	pl := ix.lens[tenantID]
	if pl == nil {
		return nil
	}
	addr := sub.IP.Unmap()
	lens := pl.v6
	if addr.Is4() {
		lens = pl.v4
	}
	for _, bits := range lens {
		p, _ := addr.Prefix(bits)
		if e := ix.nets[netKey{tenantID, p}]; e != nil && e.liveAt(now) {
			return e
		}
	}
	return nil
}
