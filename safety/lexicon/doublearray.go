package lexicon

import (
	"math/bits"
	"slices"
)

// Entry encoding of the composed rune tables: the textnorm class in the top
// two bits; for a letter, a multi-rune flag (the low bits then index
// Lexicon.multi), a word-rune flag, an end flag (the symbol is the last of
// some pattern; see skim.go), and the symbol (0: in no pattern).
const (
	classShift = 30
	multiBit   = 1 << 29
	wordBit    = 1 << 28
	endBit     = 1 << 27
	symMask    = endBit - 1
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

// daBuilder builds the double array breadth first from the patterns'
// symbol sequences in sorted order: the patterns below a node are a range
// of that order, so no pointer trie is needed. A node's failure link and
// output list are computed when it is placed, from shallower nodes that
// are complete by then.
type daBuilder struct {
	da    *doubleArray
	syms  []uint32 // symbols of all patterns
	end   []int32  // pattern i is syms[end[i-1]:end[i]]
	pats  []pattern
	order []int32 // pattern ids sorted by symbols
	queue []node
	// next[i] is a cell ≥ i that may be free (path-compressed).
	next []int32
	// from[k] is where the search for a base starts for a node with
	// about 2^k children: the last place one fitted. Large nodes do not
	// fit in the holes of the dense part of the array, and searching them
	// again for every node is what makes a naive placement quadratic; the
	// small nodes still fill them.
	from [8]int
	kids []uint32 // scratch: the children of the node being placed
	los  []int32  // scratch: where each child's range starts in order
}

// node is a trie node waiting to be placed: its state and the range of
// sorted patterns that pass through it.
type node struct {
	state, depth, lo, hi int32
}

func buildDoubleArray(syms []uint32, end []int32, pats []pattern, alphabet int) doubleArray {
	// A pattern adds at most one state per symbol; the placement leaves
	// few holes, so this is close to the final size.
	size := len(syms) + alphabet + 2
	da := &doubleArray{cells: make([]cell, 0, size), info: make([]stateInfo, 0, size),
		outs: make([]output, 1, len(pats)+1)}
	b := &daBuilder{da: da, syms: syms, end: end, pats: pats,
		next: make([]int32, 0, size), queue: make([]node, 0, size)}
	b.order = make([]int32, len(pats))
	for i := range b.order {
		b.order[i] = int32(i)
	}
	slices.SortStableFunc(b.order, func(x, y int32) int { return slices.Compare(b.seq(x), b.seq(y)) })
	b.grow(1)
	b.da.cells[0].check = -1 // the root: used, and nobody's child
	b.queue = append(b.queue, node{0, 0, 0, int32(len(pats))})
	b.da.states = 1
	for qi := 0; qi < len(b.queue); qi++ {
		b.expand(b.queue[qi])
	}
	maxBase := int32(0)
	for _, c := range b.da.cells {
		maxBase = max(maxBase, c.base)
	}
	b.grow(int(maxBase) + alphabet + 1)
	da.cells, da.info = clip(da.cells), clip(da.info)
	return *da
}

// clip returns s in memory of its own length, when that saves much.
func clip[T any](s []T) []T {
	if cap(s)-len(s) < len(s)/8 {
		return s
	}
	return append(make([]T, 0, len(s)), s...)
}

func (b *daBuilder) seq(id int32) []uint32 {
	start := int32(0)
	if id > 0 {
		start = b.end[id-1]
	}
	return b.syms[start:b.end[id]]
}

// expand places the children of n and creates them.
func (b *daBuilder) expand(n node) {
	b.kids, b.los = b.kids[:0], b.los[:0]
	for i := n.lo; i < n.hi; i++ {
		seq := b.seq(b.order[i])
		if int(n.depth) >= len(seq) {
			continue // ends here: one of n's own outputs
		}
		if c := seq[n.depth]; len(b.kids) == 0 || b.kids[len(b.kids)-1] != c {
			b.kids = append(b.kids, c)
			b.los = append(b.los, i)
		}
	}
	if len(b.kids) == 0 {
		return
	}
	base := b.place(b.kids, n.state)
	b.da.cells[n.state].base = int32(base)
	for k, c := range b.kids {
		hi := n.hi
		if k+1 < len(b.kids) {
			hi = b.los[k+1]
		}
		b.create(node{int32(base + int(c)), n.depth + 1, b.los[k], hi}, n.state, c)
	}
}

// create links a newly placed node: its failure link, depth, repeat flag
// and output list, then queues it.
func (b *daBuilder) create(n node, parent int32, c uint32) {
	da := b.da
	f := int32(0)
	if parent != 0 {
		f = da.suffix(da.cells[parent].fail, c)
	}
	da.cells[n.state].fail = f
	own := n.lo
	for own < n.hi && len(b.seq(b.order[own])) == int(n.depth) {
		own++
	}
	inf := &da.info[n.state]
	inf.depth = n.depth
	inf.repeat = da.info[f].repeat
	for _, id := range b.order[n.lo:own] {
		inf.repeat = inf.repeat || b.pats[id].lastRun > 1
	}
	// A suffix state with no patterns of its own shares its suffix's
	// list, so the failure state's list is always the one to link to.
	da.addOutputs(n.state, b.order[n.lo:own], da.cells[f].out, b.pats)
	da.states++
	b.queue = append(b.queue, n)
}

// grow makes cells 0…n-1 exist.
func (b *daBuilder) grow(n int) {
	for i := len(b.da.cells); i < n; i++ {
		b.da.cells = append(b.da.cells, cell{check: freeCheck})
		b.da.info = append(b.da.info, stateInfo{})
		b.next = append(b.next, int32(i))
	}
}

// candidate returns the first free cell ≥ i.
func (b *daBuilder) candidate(i int) int {
	b.grow(i + 1)
	root := i
	for b.da.cells[root].check != freeCheck {
		b.next[root] = max(b.next[root], int32(root+1))
		root = int(b.next[root])
		b.grow(root + 1)
	}
	for i != root { // compress
		nx := int(b.next[i])
		b.next[i] = int32(root)
		i = nx
	}
	return root
}

// place returns a base ≥ 1 such that base+c is free for every c in kids
// (sorted), and gives those cells to parent. Setting the checks at once is
// safe: the failure links computed while the children are created only
// look at proper suffixes of parent, never at parent.
func (b *daBuilder) place(kids []uint32, parent int32) int {
	c0 := int(kids[0])
	size := min(bits.Len(uint(len(kids)-1)), len(b.from)-1)
	for cand := b.candidate(max(c0+1, b.from[size])); ; cand = b.candidate(cand + 1) {
		base := cand - c0
		if b.fits(base, kids) {
			for _, c := range kids {
				b.da.cells[base+int(c)].check = parent
			}
			if size > 0 {
				b.from[size] = cand
			}
			return base
		}
	}
}

func (b *daBuilder) fits(base int, kids []uint32) bool {
	b.grow(base + int(kids[len(kids)-1]) + 1)
	for _, c := range kids[1:] {
		if b.da.cells[base+int(c)].check != freeCheck {
			return false
		}
	}
	return true
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
// link to next, the list of its nearest suffix state with patterns of its
// own. A state with no patterns of its own shares that list.
func (da *doubleArray) addOutputs(s int32, own []int32, next int32, pats []pattern) {
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
