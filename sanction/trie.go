package sanction

import (
	"math/bits"
	"net/netip"
	"time"
)

// node is a node of a path-compressed binary trie of prefixes of one
// address family. A node's prefix contains its children's; a node without
// an entry only branches. Every branch node has two children.
type node struct {
	p     netip.Prefix // masked
	e     *Entry       // nil for a branch node
	child [2]*node
}

// bitAt returns bit i of a, counting from the most significant.
func bitAt(a netip.Addr, i int) int {
	hi, lo := words(a)
	if i < 64 {
		return int(hi>>(63-i)) & 1
	}
	return int(lo>>(127-i)) & 1
}

// words returns a as two 64-bit words; IPv4 addresses fill the top 32 bits.
func words(a netip.Addr) (hi, lo uint64) {
	if a.Is4() {
		b := a.As4()
		return uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32, 0
	}
	b := a.As16()
	for i := range 8 {
		hi = hi<<8 | uint64(b[i])
		lo = lo<<8 | uint64(b[8+i])
	}
	return hi, lo
}

// common returns the longest prefix that contains both p and q.
func common(p, q netip.Prefix) netip.Prefix {
	ph, pl := words(p.Addr())
	qh, ql := words(q.Addr())
	n := bits.LeadingZeros64(ph ^ qh)
	if n == 64 {
		n += bits.LeadingZeros64(pl ^ ql)
	}
	n = min(n, p.Bits(), q.Bits())
	c, _ := p.Addr().Prefix(n)
	return c
}

// insert puts e under its prefix in the trie rooted at *root.
func insert(root **node, e *Entry) {
	p := e.prefix
	for {
		cur := *root
		switch {
		case cur == nil:
			*root = &node{p: p, e: e}
			return
		case cur.p == p:
			cur.e = e
			return
		case cur.p.Bits() < p.Bits() && cur.p.Contains(p.Addr()):
			root = &cur.child[bitAt(p.Addr(), cur.p.Bits())]
			continue
		}
		n := &node{p: p, e: e}
		if p.Bits() < cur.p.Bits() && p.Contains(cur.p.Addr()) {
			n.child[bitAt(cur.p.Addr(), p.Bits())] = cur
			*root = n
			return
		}
		br := &node{p: common(p, cur.p)}
		br.child[bitAt(cur.p.Addr(), br.p.Bits())] = cur
		br.child[bitAt(p.Addr(), br.p.Bits())] = n
		*root = br
		return
	}
}

// removeNode takes p's entry out of the trie rooted at n and returns the
// new root, folding away nodes that no longer branch.
func removeNode(n *node, p netip.Prefix) *node {
	if n == nil || n.p.Bits() > p.Bits() || !n.p.Contains(p.Addr()) {
		return n
	}
	if n.p == p {
		n.e = nil
	} else {
		i := bitAt(p.Addr(), n.p.Bits())
		n.child[i] = removeNode(n.child[i], p)
	}
	if n.e != nil {
		return n
	}
	switch {
	case n.child[0] == nil:
		return n.child[1]
	case n.child[1] == nil:
		return n.child[0]
	}
	return n
}

// match returns the entry of the most specific live prefix that contains
// a, walking down from n.
func match(n *node, a netip.Addr, now time.Time) *Entry {
	var best *Entry
	for n != nil && n.p.Contains(a) {
		if n.e != nil && n.e.liveAt(now) {
			best = n.e
		}
		if n.p.Bits() == a.BitLen() {
			break
		}
		n = n.child[bitAt(a, n.p.Bits())]
	}
	return best
}
