package lexicon

import "sort"

// Entry encoding of the composed rune tables: the textnorm class in the top
// two bits; for a letter, a multi-rune flag (the low bits then index
// Lexicon.multi), a word-rune flag, and the symbol (0: in no pattern).
const (
	classShift = 30
	multiBit   = 1 << 29
	wordBit    = 1 << 28
	symMask    = wordBit - 1
)

// A cell of the double array. The child of state s on symbol c is
// t = cells[s].base + c when cells[t].check is s. The failure link and the
// output list sit in the same cell, so that the matcher finds them in the
// cache line it has just loaded for the transition.
type cell struct {
	base  int32
	check int32
	fail  int32 // longest proper suffix state
	out   int32 // first entry of the state's outputs in outs; 0: none
}

const freeCheck = 1<<31 - 1 // no state has this index

// An output is one entry of a state's output list: the patterns that end
// in the state, then, when a shorter pattern ends there too, a link to the
// list of the state's dictionary suffix. A plain pattern carries what a
// match needs, so that reporting it touches no other table.
type output struct {
	pat   int32 // pattern id; for a link, the index of the next list
	term  int32 // owning term of a plain pattern
	nsym  uint8 // pattern length in symbols
	flags uint8
}

const (
	outPlain     = 1 << iota // see pattern.plain
	outWordStart             // see pattern.wordStart
	outWordEnd               // see pattern.wordEnd
	outLast                  // the last entry of the list
	outLink                  // not a pattern: continue at outs[pat]
)

// stateInfo is what the matcher needs off the fast path.
type stateInfo struct {
	depth  int32 // symbols from the root
	repeat bool  // a pattern on the output chain needs a repeated last symbol
}

type doubleArray struct {
	cells  []cell
	info   []stateInfo
	outs   []output // outs[0] is unused, so that out 0 means none
	states int
}

// trie is the plain trie the double array is built from.
type trie struct {
	edges map[uint64]int32 // parent<<32 | symbol → child
	kids  [][]uint32       // sorted symbols of each node's children
	outs  [][]int32        // pattern ids ending at each node
}

func buildTrie(syms [][]uint32) *trie {
	t := &trie{edges: map[uint64]int32{}, kids: [][]uint32{nil}, outs: [][]int32{nil}}
	for id, seq := range syms {
		n := int32(0)
		for _, c := range seq {
			k := uint64(n)<<32 | uint64(c)
			child, ok := t.edges[k]
			if !ok {
				child = int32(len(t.kids))
				t.edges[k] = child
				t.kids = append(t.kids, nil)
				t.outs = append(t.outs, nil)
				t.kids[n] = append(t.kids[n], c)
			}
			n = child
		}
		t.outs[n] = append(t.outs[n], int32(id))
	}
	for _, k := range t.kids {
		sort.Slice(k, func(i, j int) bool { return k[i] < k[j] })
	}
	return t
}

// placer finds bases for nodes: free cells are found with a union-find
// "next free cell" structure, so placement stays near linear.
type placer struct {
	used []bool
	next []int32 // next[i]: a cell ≥ i that may be free (path-compressed)
}

func (p *placer) grow(n int) {
	for len(p.used) < n {
		p.next = append(p.next, int32(len(p.used)))
		p.used = append(p.used, false)
	}
}

func (p *placer) free(i int) int {
	p.grow(i + 1)
	root := i
	for {
		p.grow(root + 2)
		if !p.used[root] {
			break
		}
		root = int(p.next[root])
	}
	for i != root { // compress
		nx := int(p.next[i])
		p.next[i] = int32(root)
		i = nx
	}
	return root
}

func (p *placer) take(i int) {
	p.grow(i + 2)
	p.used[i] = true
	p.next[i] = int32(i + 1)
}

// place returns a base b ≥ 1 such that b+c is free for every c in kids.
func (p *placer) place(kids []uint32) int {
	c0 := int(kids[0])
	for cand := p.free(c0 + 1); ; cand = p.free(cand + 1) {
		b := cand - c0
		ok := true
		for _, c := range kids[1:] {
			i := b + int(c)
			p.grow(i + 1)
			if p.used[i] {
				ok = false
				break
			}
		}
		if ok {
			for _, c := range kids {
				p.take(b + int(c))
			}
			return b
		}
	}
}

func buildDoubleArray(syms [][]uint32, pats []pattern, alphabet int) doubleArray {
	tr := buildTrie(syms)
	state := make([]int32, len(tr.kids)) // trie node → cell index
	bases := map[int32]int32{}
	var p placer
	p.take(0) // the root
	order := []int32{0}
	for qi := 0; qi < len(order); qi++ {
		n := order[qi]
		kids := tr.kids[n]
		if len(kids) == 0 {
			continue
		}
		b := p.place(kids)
		bases[state[n]] = int32(b)
		for _, c := range kids {
			child := tr.edges[uint64(n)<<32|uint64(c)]
			state[child] = int32(b + int(c))
			order = append(order, child)
		}
	}
	size := len(p.used)
	maxBase := int32(0)
	for _, b := range bases {
		maxBase = max(maxBase, b)
	}
	size = max(size, int(maxBase)+alphabet+1)
	da := doubleArray{cells: make([]cell, size), info: make([]stateInfo, size), outs: make([]output, 1), states: len(tr.kids)}
	for i := range da.cells {
		da.cells[i].check = freeCheck
	}
	for s, b := range bases {
		da.cells[s].base = b
	}
	for _, n := range order {
		for _, c := range tr.kids[n] {
			child := tr.edges[uint64(n)<<32|uint64(c)]
			da.cells[state[child]].check = state[n]
		}
	}
	da.link(tr, order, state, pats)
	return da
}

// link computes failure links, output lists and depths in breadth-first
// order, so that every failure target is done before it is needed.
func (da *doubleArray) link(tr *trie, order []int32, state []int32, pats []pattern) {
	dict := make([]int32, len(da.cells)) // nearest proper suffix state with own outputs, or -1
	own := make([]bool, len(da.cells))   // the state ends a pattern itself
	for _, n := range order {
		s := state[n]
		dict[s] = -1
		own[s] = len(tr.outs[n]) > 0
		for _, id := range tr.outs[n] {
			if pats[id].lastRun > 1 {
				da.info[s].repeat = true
			}
		}
	}
	for _, n := range order {
		s := state[n]
		for _, c := range tr.kids[n] {
			t := state[tr.edges[uint64(n)<<32|uint64(c)]]
			ti := &da.info[t]
			ti.depth = da.info[s].depth + 1
			if s != 0 {
				da.cells[t].fail = da.suffix(da.cells[s].fail, c)
			}
			f := da.cells[t].fail
			if own[f] {
				dict[t] = f
			} else {
				dict[t] = dict[f]
			}
			ti.repeat = ti.repeat || da.info[f].repeat
		}
		da.addOutputs(s, tr.outs[n], dict[s], pats)
	}
}

// suffix is the state reached on c from f or, failing that, from the
// states on its failure chain.
func (da *doubleArray) suffix(f int32, c uint32) int32 {
	for {
		if g, ok := da.child(f, c); ok {
			return g
		}
		if f == 0 {
			return 0
		}
		f = da.cells[f].fail
	}
}

// addOutputs lays out the output list of state s: its own patterns, then a
// link to the list of dict, its nearest suffix state with patterns of its
// own. A state with no patterns of its own shares the list of dict.
func (da *doubleArray) addOutputs(s int32, own []int32, dict int32, pats []pattern) {
	next := int32(0)
	if dict >= 0 {
		next = da.cells[dict].out
	}
	if len(own) == 0 {
		da.cells[s].out = next
		return
	}
	da.cells[s].out = int32(len(da.outs))
	for _, id := range own {
		p := &pats[id]
		o := output{pat: id, term: p.owner, nsym: uint8(p.nsym)}
		if p.plain {
			o.flags |= outPlain
		}
		if p.wordStart {
			o.flags |= outWordStart
		}
		if p.wordEnd {
			o.flags |= outWordEnd
		}
		da.outs = append(da.outs, o)
	}
	if next != 0 {
		da.outs = append(da.outs, output{pat: next, flags: outLink | outLast})
	} else {
		da.outs[len(da.outs)-1].flags |= outLast
	}
}

func (da *doubleArray) child(s int32, c uint32) (int32, bool) {
	t := int(da.cells[s].base) + int(c)
	if t < len(da.cells) && da.cells[t].check == s && t != 0 {
		return int32(t), true
	}
	return 0, false
}
