package lexicon

import "math/bits"

// The shallow fast path, a prefilter in the spirit of Hyperscan's literal
// matchers (FDR, Teddy): look cheaply at where a term could start and skip
// the automaton everywhere else. Most of a text drives the automaton no
// deeper than one symbol: a character starts some term, but the next one
// does not continue any. Stepping there costs two dependent loads in the
// cell array, which for a large lexicon is far bigger than the caches;
// instead, while the automaton is at the root or one symbol deep, the
// scanner looks the pair (previous symbol, this symbol) up in a small bit
// set of the pairs that begin a pattern. A miss means no pattern goes on
// from the previous symbol, so the automaton is at this symbol's child of
// the root (a small table, hot in cache), exactly where the full step
// would have taken it; only on a hit does the full step run.

// shallowOut marks a root child with outputs (a one-symbol pattern).
const shallowOut = 1 << 31

type shallow struct {
	root  []uint32 // by symbol: the root's child (0: none), | shallowOut
	pairs pairSet  // the pairs of symbols that begin a pattern
}

// buildShallow fills the tables from the built double array and the
// patterns' symbol sequences (pattern i is syms[end[i-1]:end[i]]).
func buildShallow(da *doubleArray, syms []uint32, end []int32, alphabet int) shallow {
	sh := shallow{root: make([]uint32, alphabet+1), pairs: newPairSet(len(end))}
	base := da.cells[0].base
	for c := 1; c <= alphabet; c++ {
		t := base + int32(c)
		if t > 0 && int(t) < len(da.cells) && da.cells[t].check == 0 {
			e := uint32(t)
			if da.cells[t].out != 0 {
				e |= shallowOut
			}
			sh.root[c] = e
		}
	}
	start := int32(0)
	for _, e := range end {
		if e-start >= 2 {
			sh.pairs.add(syms[start], syms[start+1])
		}
		start = e
	}
	return sh
}

// begins reports whether some pattern may begin with symbols a, b (false
// hits possible, no false misses).
func (sh *shallow) begins(a, b uint32) bool { return sh.pairs.has(a, b) }

// A pairSet is a Bloom-like bit set of symbol pairs, one hash: has may
// answer true for a pair never added, never false for one added.
type pairSet struct {
	bits  []uint64
	shift uint32
}

// newPairSet sizes a set for about n pairs: some 16 bits a pair, a few
// percent of false hits, which only cost the exact check behind them.
func newPairSet(n int) pairSet {
	size := max(1<<12, min(1<<23, 16*n))
	logBits := bits.Len(uint(size - 1))
	return pairSet{bits: make([]uint64, (1<<logBits)/64), shift: uint32(32 - logBits)}
}

func pairHash(a, b uint32) uint32 { return (a*0x9E3779B1 ^ b) * 0x85EBCA6B }

func (ps *pairSet) add(a, b uint32) {
	h := pairHash(a, b) >> ps.shift
	ps.bits[h>>6] |= 1 << (h & 63)
}

func (ps *pairSet) has(a, b uint32) bool {
	h := pairHash(a, b) >> ps.shift
	return ps.bits[h>>6]&(1<<(h&63)) != 0
}
