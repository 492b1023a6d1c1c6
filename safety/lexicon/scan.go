package lexicon

import (
	"cmp"
	"math"
	"slices"
	"unicode/utf8"

	"github.com/firebreak/firebreak/safety/textnorm"
)

const (
	ringSize = 128 // > MaxTermRunes, a power of two
	ringMask = ringSize - 1
)

// symInfo remembers where a recent symbol came from.
type symInfo struct {
	start     int   // byte offset of the first rune of the symbol's run
	runeStart int   // rune index of the same
	run       int32 // how often the symbol repeated
	leftWord  bool  // directly after a word rune, with no noise between
}

// cand is a pattern occurrence that may still be rejected.
type cand struct {
	pat                int32
	term               int32 // owning term, when plain
	start, end         int
	runeStart, runeEnd int
	needEnd            bool // waiting for the rune after it (whole-word check)
	plain              bool // a term's, with only the word edge left to check
}

type phraseHit struct {
	id                 int32
	start, end         int
	runeStart, runeEnd int
}

// scanner is the matcher's state between runes; Find keeps one on the
// stack, a Stream keeps one across chunks.
type scanner struct {
	l        *Lexicon
	s        int32  // automaton state
	pos      int    // absolute offset of the next byte to scan
	runes    int    // runes scanned so far
	nsym     int    // symbols fed to the automaton so far
	last     uint32 // symbol of the last letter, 0 after a reset
	gap      int    // noise runes since the last letter
	noise    bool   // noise since the last letter
	prevWord bool   // the last letter was a word rune
	nEnd     int    // pending candidates waiting for the next rune
	burst    int    // bytes last scanned without the skim (skim.go)
	ahead    int    // bytes to scan without the skim before the next skim
	ring     [ringSize]symInfo
	pending  []cand
	phrases  []phraseHit
	out      []Match
}

func (sc *scanner) init(l *Lexicon) { sc.l = l }

// step feeds whole runes (invalid bytes count as U+FFFD, one byte each)
// to the automaton, every one of them. The common cases — a letter starting a new symbol, a letter in no
// pattern, noise — are handled inline on local copies of the scanner's
// state, which go back to the scanner around every other call; everything
// else goes through slowRune.
func (sc *scanner) step(text string) {
	l := sc.l
	bmp, cells, maxGap := l.bmp, l.da.cells, l.maxGap
	sh := &l.shallow
	root := sh.root
	base := sc.pos
	s, last, nsym, runes, gap, noise, prevWord := sc.s, sc.last, sc.nsym, sc.runes, sc.gap, sc.noise, sc.prevWord
	for i := 0; i < len(text); runes++ {
		var e uint32
		p := i
		if c := text[i]; c < utf8.RuneSelf {
			e = bmp[c]
			i++
		} else if c < 0xF0 && c >= 0xE0 && i+2 < len(text) && text[i+1]&0xC0 == 0x80 && text[i+2]&0xC0 == 0x80 &&
			(c != 0xE0 || text[i+1] >= 0xA0) && (c != 0xED || text[i+1] < 0xA0) {
			// a valid three-byte sequence (CJK): decode inline
			e = bmp[rune(c&0x0F)<<12|rune(text[i+1]&0x3F)<<6|rune(text[i+2]&0x3F)]
			i += 3
		} else {
			r, n := utf8.DecodeRuneInString(text[i:])
			i += n
			if r >= 0x10000 {
				sc.s, sc.last, sc.nsym, sc.runes, sc.gap, sc.noise, sc.prevWord = s, last, nsym, runes, gap, noise, prevWord
				sc.pos = base + p
				sc.supplementary(r, base+p, base+i)
				s, last, nsym, gap, noise, prevWord = sc.s, sc.last, sc.nsym, sc.gap, sc.noise, sc.prevWord
				continue
			}
			e = bmp[r]
		}
		c := e & symMask
		if sc.nEnd == 0 {
			if e&(3<<classShift|multiBit) == 0 && c == 0 {
				// a letter in no pattern: nothing can span it
				prevWord, noise, gap, last, s = e&wordBit != 0, false, 0, 0, 0
				continue
			}
			if e&(3<<classShift|multiBit) == 0 && c != last {
				// a letter starting a new symbol
				nsym++
				sc.ring[nsym&ringMask] = symInfo{start: base + p, runeStart: runes, run: 1, leftWord: prevWord && !noise}
				prev := last
				prevWord, noise, gap, last = e&wordBit != 0, false, 0, c
				if s == 0 || s == int32(root[prev]&^shallowOut) && !sh.begins(prev, c) {
					// at most one symbol deep, and no pattern goes on
					// from prev with c: the root's child on c (shallow.go)
					r := root[c]
					if s = int32(r &^ shallowOut); r&shallowOut != 0 {
						sc.s, sc.nsym, sc.runes = s, nsym, runes
						sc.emit(base+i, false)
					}
					continue
				}
				for {
					cs := &cells[s]
					t := cs.base + int32(c)
					if cells[t].check == s {
						s = t
						break
					}
					if s == 0 {
						break
					}
					s = cs.fail
				}
				if cells[s].out != 0 {
					sc.s, sc.nsym, sc.runes = s, nsym, runes
					sc.emit(base+i, false)
				}
				continue
			}
			if e>>classShift == uint32(textnorm.Noise) {
				gap++
				noise = true
				if gap > maxGap {
					s, last = 0, 0
				}
				continue
			}
		}
		sc.s, sc.last, sc.nsym, sc.runes, sc.gap, sc.noise, sc.prevWord = s, last, nsym, runes, gap, noise, prevWord
		sc.slowRune(e, base+p, base+i)
		s, last, nsym, gap, noise, prevWord = sc.s, sc.last, sc.nsym, sc.gap, sc.noise, sc.prevWord
	}
	sc.s, sc.last, sc.nsym, sc.runes, sc.gap, sc.noise, sc.prevWord = s, last, nsym, runes, gap, noise, prevWord
	sc.pos = base + len(text)
}

func (sc *scanner) slowRune(e uint32, p, end int) {
	switch {
	case e>>classShift != 0:
		sc.other(textnorm.Class(e >> classShift))
	case e&multiBit == 0:
		sc.letter(e, p, end)
	default:
		for _, sw := range sc.l.multi[e&symMask] {
			sc.letter(sw, p, end)
		}
	}
}

func (sc *scanner) supplementary(r rune, p, end int) {
	var buf [16]rune
	cls, out := sc.l.norm.AppendFold(buf[:0], r)
	if cls != textnorm.Letter {
		sc.other(cls)
		return
	}
	for _, f := range out {
		sc.letter(sc.l.symWord(f), p, end)
	}
}

func (sc *scanner) other(cls textnorm.Class) {
	switch cls {
	case textnorm.Noise:
		sc.gap++
		sc.noise = true
		if sc.gap > sc.l.maxGap {
			sc.s, sc.last = 0, 0
		}
	case textnorm.Break:
		sc.s, sc.last, sc.gap, sc.noise = 0, 0, 0, true
	default:
		return
	}
	if sc.nEnd > 0 {
		sc.wordEdge(false)
	}
}

// letter feeds one folded letter, sw being its symbol and word flag, that
// came from the original bytes [p, end).
func (sc *scanner) letter(sw uint32, p, end int) {
	c := sw & symMask
	if c != 0 && c == sc.last && sc.l.collect {
		cur := &sc.ring[sc.nsym&ringMask]
		cur.run++
		sc.gap, sc.noise = 0, false
		if sc.l.da.info[sc.s].repeat {
			sc.repeat(end)
		}
		return
	}
	word := sw&wordBit != 0
	if sc.nEnd > 0 {
		sc.wordEdge(word && !sc.noise)
	}
	if c == 0 {
		sc.prevWord, sc.noise, sc.gap, sc.last, sc.s = word, false, 0, 0, 0
		return
	}
	sc.nsym++
	sc.ring[sc.nsym&ringMask] = symInfo{start: p, runeStart: sc.runes, run: 1, leftWord: sc.prevWord && !sc.noise}
	sc.prevWord, sc.noise, sc.gap, sc.last = word, false, 0, c
	cells := sc.l.da.cells
	s := sc.s
	for {
		cs := &cells[s]
		t := cs.base + int32(c)
		if cells[t].check == s {
			s = t
			break
		}
		if s == 0 {
			break
		}
		s = cs.fail
	}
	sc.s = s
	if cells[s].out != 0 {
		sc.emit(end, false)
	}
}

func (sc *scanner) repeat(end int) { sc.emit(end, true) }

// report adds a match to the output, doubling its room when full: Find
// starts small, since most texts hold few matches, and a text dense with
// them should not pay for copying at append's gentler growth.
func (sc *scanner) report(m Match) {
	if len(sc.out) == cap(sc.out) {
		sc.out = slices.Grow(sc.out, len(sc.out)+1)
	}
	sc.out = append(sc.out, m)
}

// emit reports the patterns that end in the current state. On a repeat,
// only those whose last symbol needs exactly this many repeats.
func (sc *scanner) emit(end int, onRepeat bool) {
	outs := sc.l.da.outs
	i := sc.l.da.cells[sc.s].out
	for i != 0 {
		o := &outs[i]
		switch {
		case o.flags&outLink != 0:
			i = o.pat
			continue
		case o.flags&outPlain != 0:
			if !onRepeat {
				sc.plain(o, end)
			}
		default:
			sc.candidate(o.pat, end, onRepeat)
		}
		if o.flags&outLast != 0 {
			return
		}
		i++
	}
}

// plain reports a plain pattern, or holds it until the next rune shows
// whether it ends a word.
func (sc *scanner) plain(o *output, end int) {
	first := &sc.ring[(sc.nsym-int(o.nsym)+1)&ringMask]
	if o.flags&outWordStart != 0 && first.leftWord {
		return
	}
	if o.flags&outWordEnd == 0 {
		sc.report(Match{Term: int(o.term), Start: first.start, End: end})
		return
	}
	sc.pending = append(sc.pending, cand{pat: o.pat, term: o.term, start: first.start, end: end,
		runeStart: first.runeStart, runeEnd: sc.runes + 1, needEnd: true, plain: true})
	sc.nEnd++
}

func (sc *scanner) candidate(id int32, end int, onRepeat bool) {
	p := &sc.l.pats[id]
	lastRun := int32(p.lastRun)
	if onRepeat {
		if lastRun == 1 || sc.ring[sc.nsym&ringMask].run != lastRun {
			return
		}
	} else if lastRun > 1 {
		return
	}
	first := sc.nsym - int(p.nsym) + 1
	fi := &sc.ring[first&ringMask]
	if p.wordStart && fi.leftWord {
		return
	}
	for k := 0; k+1 < len(p.runs); k++ {
		if sc.ring[(first+k)&ringMask].run < int32(p.runs[k]) {
			return
		}
	}
	// A term's pattern with no allow-list or near rule has only its word
	// edge left to check, as a plain one: accept need not look it up again.
	c := cand{pat: id, term: p.owner, start: fi.start, end: end, runeStart: fi.runeStart, runeEnd: sc.runes + 1,
		plain: !p.phrase && !p.aux}
	if p.wordEnd {
		c.needEnd = true
		sc.pending = append(sc.pending, c)
		sc.nEnd++
		return
	}
	sc.accept(c)
}

// wordEdge settles the candidates waiting for the rune after them: a word
// rune right after a Latin term means it was part of a longer word. Plain
// candidates are reported at once; the others go through accept after the
// loop, since accept may add to pending.
func (sc *scanner) wordEdge(wordNext bool) {
	kept := sc.pending[:0]
	var few [4]cand
	later := few[:0] // more than four at one edge is rare
	for _, c := range sc.pending {
		switch {
		case !c.needEnd:
			kept = append(kept, c)
		case wordNext:
		case c.plain:
			sc.report(Match{Term: int(c.term), Start: c.start, End: c.end})
		default:
			c.needEnd = false
			later = append(later, c)
		}
	}
	sc.pending, sc.nEnd = kept, 0
	for _, c := range later {
		sc.accept(c)
	}
}

func (sc *scanner) accept(c cand) {
	if c.plain {
		sc.report(Match{Term: int(c.term), Start: c.start, End: c.end})
		return
	}
	p := &sc.l.pats[c.pat]
	if p.phrase {
		sc.phrases = append(sc.phrases, phraseHit{p.owner, c.start, c.end, c.runeStart, c.runeEnd})
		return
	}
	sc.pending = append(sc.pending, c) // allow-list or near rule: settle decides
}

// floor is the earliest byte (and rune) at which a future occurrence of any
// pattern can start: the start of the automaton's current partial match.
func (sc *scanner) floor() (int, int) {
	d := int(sc.l.da.info[sc.s].depth)
	if d == 0 {
		return sc.pos, sc.runes
	}
	fi := &sc.ring[(sc.nsym-d+1)&ringMask]
	return fi.start, fi.runeStart
}

// settle decides the candidates waiting on allow-lists and near rules as
// far as the text seen so far allows; final treats the text as complete.
func (sc *scanner) settle(final bool) {
	if final && sc.nEnd > 0 {
		sc.wordEdge(false)
	}
	floor, floorRune := sc.floor()
	if len(sc.pending) == 0 {
		if final {
			sc.phrases = sc.phrases[:0]
		} else if len(sc.phrases) > 0 {
			sc.prunePhrases(floorRune)
		}
		return
	}
	if final {
		floor, floorRune = math.MaxInt, math.MaxInt/2
	}
	minRune := floorRune
	kept := sc.pending[:0]
	for _, c := range sc.pending {
		if c.needEnd {
			kept = append(kept, c)
			minRune = min(minRune, c.runeStart)
			continue
		}
		switch sc.decide(c, floor, floorRune) {
		case keep:
			kept = append(kept, c)
			minRune = min(minRune, c.runeStart)
		case accept:
			sc.report(Match{Term: int(sc.l.pats[c.pat].owner), Start: c.start, End: c.end})
		}
	}
	sc.pending = kept
	sc.prunePhrases(minRune)
}

type verdict int

const (
	keep verdict = iota
	accept
	reject
)

func (sc *scanner) decide(c cand, floor, floorRune int) verdict {
	aux := &sc.l.termAux[sc.l.pats[c.pat].owner]
	for _, h := range sc.phrases {
		if h.start <= c.start && h.end >= c.end && has(aux.allow, h.id) {
			return reject
		}
	}
	nearOK := len(aux.near) == 0
	for _, h := range sc.phrases {
		if !nearOK && has(aux.near, h.id) && runeDistance(c, h) <= aux.within {
			nearOK = true
		}
	}
	if !nearOK && floorRune-c.runeEnd > aux.within {
		return reject
	}
	if nearOK && (len(aux.allow) == 0 || floor > c.start) {
		return accept
	}
	return keep
}

// prunePhrases drops phrase hits that can no longer be near any candidate
// starting at or after minRune.
func (sc *scanner) prunePhrases(minRune int) {
	kept := sc.phrases[:0]
	for _, h := range sc.phrases {
		if minRune-h.runeEnd <= sc.l.maxWithin {
			kept = append(kept, h)
		}
	}
	sc.phrases = kept
}

func runeDistance(c cand, h phraseHit) int {
	return max(0, h.runeStart-c.runeEnd, c.runeStart-h.runeEnd)
}

func has(ids []int32, id int32) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func sortMatches(m []Match) {
	slices.SortFunc(m, func(a, b Match) int {
		if a.Start != b.Start {
			return cmp.Compare(a.Start, b.Start)
		}
		if a.End != b.End {
			return cmp.Compare(a.End, b.End)
		}
		return cmp.Compare(a.Term, b.Term)
	})
}
