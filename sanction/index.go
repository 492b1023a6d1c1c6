package sanction

import (
	"net/netip"
	"time"
)

// index holds the blacklist in memory for Blocked. Per tenant it keeps one
// map per exact kind, a map of single addresses, and a path-compressed
// binary trie of prefixes per address family, so a lookup costs a few map
// probes and a walk no deeper than the nesting of the prefixes, however
// many there are and whatever their lengths.
type index struct {
	byID    map[string]*Entry
	tenants map[string]*tenantIndex
}

type tenantIndex struct {
	exact  [numExact]map[string]*Entry // by exactKind
	hosts  map[netip.Addr]*Entry       // /32 and /128 entries
	v4, v6 *node
	n      int // entries
}

// exactKind numbers the kinds matched by value.
func exactKind(k Kind) int {
	switch k {
	case KindUser:
		return 0
	case KindDevice:
		return 1
	case KindPhone:
		return 2
	case KindIDNumber:
		return 3
	}
	return -1
}

const numExact = 4

func newIndex() *index {
	return &index{byID: map[string]*Entry{}, tenants: map[string]*tenantIndex{}}
}

// put adds e, replacing the entry with the same id or the same key.
func (ix *index) put(e *Entry) {
	ix.remove(e.ID)
	ti := ix.tenants[e.TenantID]
	if ti == nil {
		ti = &tenantIndex{hosts: map[netip.Addr]*Entry{}}
		for i := range ti.exact {
			ti.exact[i] = map[string]*Entry{}
		}
		ix.tenants[e.TenantID] = ti
	}
	if old := ti.find(e); old != nil {
		ix.remove(old.ID)
	}
	switch {
	case e.Kind != KindIP:
		ti.exact[exactKind(e.Kind)][e.Value] = e
	case e.prefix.IsSingleIP():
		ti.hosts[e.prefix.Addr()] = e
	default:
		insert(ti.root(e.prefix.Addr()), e)
	}
	ti.n++
	ix.byID[e.ID] = e
}

// find returns the entry stored under e's key, if any.
func (ti *tenantIndex) find(e *Entry) *Entry {
	switch {
	case e.Kind != KindIP:
		return ti.exact[exactKind(e.Kind)][e.Value]
	case e.prefix.IsSingleIP():
		return ti.hosts[e.prefix.Addr()]
	}
	n := *ti.root(e.prefix.Addr())
	for n != nil && n.p.Bits() <= e.prefix.Bits() && n.p.Contains(e.prefix.Addr()) {
		if n.p == e.prefix {
			return n.e
		}
		n = n.child[bitAt(e.prefix.Addr(), n.p.Bits())]
	}
	return nil
}

func (ti *tenantIndex) root(a netip.Addr) **node {
	if a.Is4() {
		return &ti.v4
	}
	return &ti.v6
}

// remove drops the entry with the given id, if present.
func (ix *index) remove(id string) {
	e, ok := ix.byID[id]
	if !ok {
		return
	}
	delete(ix.byID, id)
	ti := ix.tenants[e.TenantID]
	switch {
	case e.Kind != KindIP:
		delete(ti.exact[exactKind(e.Kind)], e.Value)
	case e.prefix.IsSingleIP():
		delete(ti.hosts, e.prefix.Addr())
	default:
		r := ti.root(e.prefix.Addr())
		*r = removeNode(*r, e.prefix)
	}
	if ti.n--; ti.n == 0 {
		delete(ix.tenants, e.TenantID)
	}
}

// lookup returns the tenant's first live entry that matches sub: by
// value, then by address, then by the most specific live prefix.
func (ix *index) lookup(tenantID string, sub *Subject, now time.Time) *Entry {
	ti := ix.tenants[tenantID]
	if ti == nil {
		return nil
	}
	for k, v := range [numExact]string{sub.EndUserID, sub.DeviceID, sub.PhoneHash, sub.IDHash} {
		if v == "" {
			continue
		}
		if e := ti.exact[k][v]; e != nil && e.liveAt(now) {
			return e
		}
	}
	if !sub.IP.IsValid() {
		return nil
	}
	addr := sub.IP.Unmap().WithZone("")
	if e := ti.hosts[addr]; e != nil && e.liveAt(now) {
		return e
	}
	return match(*ti.root(addr), addr, now)
}
