package lexicon

import (
	"unicode/utf8"

	"github.com/firebreak/firebreak/safety/textnorm"
)

// The skim, an end-anchored prefilter in the spirit of Hyperscan's literal
// matchers (FDR, Teddy): most places in a text cannot end a pattern, and
// only where one can does the automaton need to run, whose tables are far
// bigger than the caches for a large lexicon. The skim decodes runes and
// tests each against a bit set of the Basic Multilingual Plane (8 KiB):
// a letter whose symbol is the last of some pattern, or that folds to
// several symbols. It keeps no other state. At a rune in the set it
// looks back at the symbol before (skipping noise and invisible runes the
// way the scan does), and a pattern can end there only if
//
//   - the rune's symbol is a one-symbol pattern, or
//   - the symbol before and it are a whole two-symbol pattern, or the
//     two symbols before and it are the last three of a longer one (sets
//     of pairs and of triples, like the shallow path's pair set), or
//   - it repeats the symbol before, which ends a pattern needing a
//     repeat, or
//   - it folds to several symbols, or is a letter outside the BMP (rare).
//
// There the full scan (step) takes over, from far enough back that its
// state at the rune is exactly the one a scan of the whole text has. The
// automaton's state after a symbol depends on the last ends.window
// symbols only (its depth is at most the longest pattern), and the word
// edge before the longest pattern on one more; so the scan restarts in a
// reset state at the start of the symbol run ends.window+2 runs back, or
// later at a reset — a letter in no pattern, a break, a gap longer than
// the maximum — after which the state does not depend on the text
// before, or where the scanner stands when that is later still. The
// stretch the scan repeats held no end (the skim passed it), so it
// reports nothing twice. At the end of a stream's write the scan runs the
// same window, so the state a write leaves is exact too.

// Flags of a symbol in ends.flags.
const (
	endAny    = 1 << iota // the last symbol of some pattern
	endOne                // a whole pattern by itself
	endRepeat             // the last symbol of a pattern that needs it repeated
)

type ends struct {
	flags []uint8 // by symbol
	pairs pairSet // the last two symbols of every pattern of two or more
	twos  pairSet // the patterns of exactly two symbols
	// triples holds the last three symbols of every pattern of three or
	// more: in text where the last two symbols of some pattern are
	// common (English letter pairs) but its last three are not, the
	// third symbol spares the automaton's window.
	triples pairSet
	cands   []uint64 // bit set by BMP rune: a letter with the end flag, or several
	// window is the symbols of the longest pattern; 0 turns the skim off.
	window int
}

// buildEnds fills the tables from the patterns' symbol sequences (pattern
// i is syms[end[i-1]:end[i]]).
func buildEnds(syms []uint32, end []int32, pats []pattern, alphabet int) ends {
	e := ends{flags: make([]uint8, alphabet+1), pairs: newPairSet(len(end)), twos: newPairSet(len(end)),
		triples: newPairSet(len(end))}
	start := int32(0)
	for i, x := range end {
		seq := syms[start:x]
		c := seq[len(seq)-1]
		e.flags[c] |= endAny
		if len(seq) == 1 {
			e.flags[c] |= endOne
		} else {
			e.pairs.add(seq[len(seq)-2], c)
		}
		if len(seq) == 2 {
			e.twos.add(seq[0], c)
		} else if len(seq) > 2 {
			e.triples.add(tripleKey(seq[len(seq)-3], seq[len(seq)-2]), c)
		}
		if pats[i].lastRun > 1 {
			e.flags[c] |= endRepeat
		}
		e.window = max(e.window, len(seq))
		start = x
	}
	return e
}

// markRunes fills the bit set of candidate runes from the composed table.
func (e *ends) markRunes(bmp []uint32) {
	e.cands = make([]uint64, len(bmp)/64)
	for r, x := range bmp {
		if x>>classShift == 0 && x&(endBit|multiBit) != 0 {
			e.cands[r>>6] |= 1 << (r & 63)
		}
	}
}

// scan feeds text to the matcher, the full scan (step) only where a
// pattern may end. With more, text may follow (a stream), so the state at
// the end is left exactly as a full scan leaves it; without, it is left
// good only for settle(true).
func (sc *scanner) scan(text string, more bool) {
	if sc.l.ends.window == 0 {
		sc.step(text)
		return
	}
	for i := 0; i < len(text); {
		if sc.nEnd > 0 {
			// a candidate waits for this rune to settle its word edge
			n := 1
			if text[i] >= utf8.RuneSelf {
				_, n = utf8.DecodeRuneInString(text[i:])
			}
			sc.step(text[i : i+n])
			i += n
			continue
		}
		if sc.ahead > 0 {
			// candidates were dense: scan on without skimming for a while
			to := runeCut(text, i+sc.ahead)
			sc.step(text[i:to])
			i, sc.ahead = to, 0
			continue
		}
		from, to, found := sc.skim(text, i, more)
		if found || more {
			sc.step(text[from:to])
		}
		if found && from == i {
			// the skim found nothing to skip: in text dense with
			// candidates it only costs, so the next stretch is scanned
			// outright, longer each time this repeats
			sc.burst = min(max(2*sc.burst, minBurst), maxBurst)
			sc.ahead = sc.burst
		} else {
			sc.burst = 0
		}
		i = to
	}
}

// Bounds of the stretch scanned without the skim where candidates are
// dense, in bytes.
const (
	minBurst = 64
	maxBurst = 4096
)

// runeCut returns the first rune boundary at or after k: a byte that
// starts a rune, or the end of text. Whatever the bytes before it, such a
// byte is a boundary of the scan's decoding: no sequence it decodes
// swallows one.
func runeCut(text string, k int) int {
	for ; k < len(text); k++ {
		if utf8.RuneStart(text[k]) {
			return k
		}
	}
	return len(text)
}

// skim walks text from i, where the scanner stands, as far as no pattern
// can end. It returns the end of the rune at which one may (found), or
// len(text), and from, where the full scan must start to reach it in the
// right state; the scanner is left standing at from. At the end of text
// without more, the scanner is left at the end in a reset state.
func (sc *scanner) skim(text string, i int, more bool) (from, to int, found bool) {
	cands := sc.l.ends.cands
	lo, runes := i, sc.runes
	for i < len(text) {
		p := i
		var r rune
		if c := text[i]; c < utf8.RuneSelf {
			r = rune(c)
			i++
		} else if c < 0xF0 && c >= 0xE0 && i+2 < len(text) && text[i+1]&0xC0 == 0x80 && text[i+2]&0xC0 == 0x80 &&
			(c != 0xE0 || text[i+1] >= 0xA0) && (c != 0xED || text[i+1] < 0xA0) {
			r = rune(c&0x0F)<<12 | rune(text[i+1]&0x3F)<<6 | rune(text[i+2]&0x3F)
			i += 3
		} else {
			var n int
			r, n = utf8.DecodeRuneInString(text[i:])
			i += n
		}
		if r < 0x10000 && cands[r>>6]&(1<<(r&63)) == 0 {
			runes++
			continue
		}
		if sc.endsAt(text, lo, p, r) {
			w, back := sc.windowStart(text, lo, p)
			if w > lo {
				sc.restart(sc.pos+w-lo, runes-back)
			}
			return w, i, true
		}
		runes++
	}
	if !more {
		sc.restart(sc.pos+len(text)-lo, runes)
		return len(text), len(text), false
	}
	w, back := sc.windowStart(text, lo, len(text))
	if w > lo {
		sc.restart(sc.pos+w-lo, runes-back)
	}
	return w, len(text), false
}

// endsAt reports whether a pattern may end in the rune r at text[p:] (the
// exact test behind the bit set, with the symbols before it), the text
// from lo on not yet seen by the scanner.
func (sc *scanner) endsAt(text string, lo, p int, r rune) bool {
	l := sc.l
	var e uint32
	if r >= 0x10000 {
		e = l.classEntry(r)
	} else {
		e = l.bmp[r]
	}
	if e>>classShift != 0 {
		return false
	}
	if e&multiBit != 0 {
		return true
	}
	c := e & symMask
	last, at, ok := sc.symbolBefore(text, lo, p, 0)
	if !ok {
		return true
	}
	f := l.ends.flags[c]
	if c == last && l.collect {
		return f&endRepeat != 0
	}
	if f&endOne != 0 {
		return true
	}
	if last == 0 || !l.ends.pairs.has(last, c) {
		return false
	}
	if l.ends.twos.has(last, c) || at < 0 {
		return true // a two-symbol pattern, or the symbol before last is not at hand
	}
	run := uint32(0)
	if l.collect {
		run = last // the rest of last's run comes before it
	}
	x, _, ok := sc.symbolBefore(text, lo, at, run)
	return !ok || x != 0 && l.ends.triples.has(tripleKey(x, last), c)
}

// symbolBefore returns what the scan's last symbol is before text[p:],
// skipping the letters of symbol run just before it (a run collapsed with
// the symbol after it; 0: none): 0 after a reset; not ok when that is not
// known here, after a rune the skim does not follow (which it never
// passes) or a run that goes on before lo. at is where the symbol's
// letter starts in text, or -1 when it is the scanner's last symbol.
func (sc *scanner) symbolBefore(text string, lo, p int, run uint32) (sym uint32, at int, ok bool) {
	l := sc.l
	gap := 0
	for j := p; j > lo; {
		e, q := l.entryBefore(text, j)
		if q < lo {
			return 0, -1, false
		}
		j = q
		switch textnorm.Class(e >> classShift) {
		case textnorm.Ignore:
			continue
		case textnorm.Noise:
			if gap++; gap > l.maxGap {
				return 0, q, true
			}
			continue
		case textnorm.Break:
			return 0, q, true
		}
		if e&multiBit != 0 {
			return 0, -1, false
		}
		if s := e & symMask; s != run || s == 0 {
			return s, q, true
		}
		gap = 0 // a repeat of the run: the gap counts from it
	}
	if run != 0 && sc.last == run {
		return 0, -1, false
	}
	if sc.last != 0 && sc.gap+gap > l.maxGap {
		return 0, -1, true
	}
	return sc.last, -1, true
}

// windowStart returns where a scan from a reset state reaches text[p:] in
// the state a scan of the whole text would, and how many runes it starts
// back from p: lo (where the scanner stands) or later. Walking back from
// p, it stops at a reset — a letter in no pattern, a break, a gap longer
// than the maximum — whose state does not depend on the text before, or
// at the start of the symbol run ends.window+2 runs back: the automaton's
// state depends on the last ends.window symbols only, the word edge before
// the longest pattern on one more, and the run is whole, so that its
// first symbol is new to the scan as it is to the full one.
func (sc *scanner) windowStart(text string, lo, p int) (w, back int) {
	l := sc.l
	runs, gap := 0, 0
	var prev uint32 // symbol of the letter visited last (just after), 0: none yet
	prevStart, prevBack := p, 0
	noiseEnd, noiseBack := p, 0 // where the current run of noise ends
	for j := p; j > lo; back++ {
		e, q := l.entryBefore(text, j)
		if q < lo {
			return lo, 0
		}
		switch textnorm.Class(e >> classShift) {
		case textnorm.Ignore:
			j = q
			continue
		case textnorm.Noise:
			if gap == 0 {
				noiseEnd, noiseBack = j, back
			}
			if gap++; gap > l.maxGap {
				return noiseEnd, noiseBack
			}
			j = q
			continue
		case textnorm.Break:
			return q, back + 1
		}
		if e&multiBit != 0 {
			return lo, 0 // not followed by the skim, so not after lo
		}
		c := e & symMask
		if c == 0 {
			return q, back + 1
		}
		if prev != 0 && (c != prev || !l.collect) {
			if runs++; runs >= l.ends.window+2 {
				return prevStart, prevBack
			}
		}
		prev, prevStart, prevBack, gap = c, q, back+1, 0
		j = q
	}
	return lo, 0
}

// tripleKey folds the first two symbols of a triple into one for the
// pair set.
func tripleKey(a, b uint32) uint32 { return a*0x27D4EB2F ^ b }

// entryBefore returns the table entry of the rune that ends at text[j]
// and where it starts. The scan decodes the same rune there: a valid
// sequence is always decoded from its first byte, and any other byte is a
// rune of its own.
func (l *Lexicon) entryBefore(text string, j int) (uint32, int) {
	if c := text[j-1]; c < utf8.RuneSelf {
		return l.bmp[c], j - 1
	}
	r, n := utf8.DecodeLastRuneInString(text[:j])
	if r >= 0x10000 {
		return l.classEntry(r), j - n
	}
	return l.bmp[r], j - n
}

// restart puts the scanner at byte pos in a reset state, as after a gap
// longer than the maximum: no partial match, no symbol to repeat.
func (sc *scanner) restart(pos, runes int) {
	sc.s, sc.last, sc.gap, sc.noise, sc.prevWord = 0, 0, sc.l.maxGap+1, true, false
	sc.pos, sc.runes = pos, runes
}

// classEntry is the table entry of a rune outside the Basic Multilingual
// Plane as far as the skim needs it: its class, and for a letter the multi
// flag, which makes the skim hand it to the full scan.
func (l *Lexicon) classEntry(r rune) uint32 {
	var buf [16]rune
	cls, _ := l.norm.AppendFold(buf[:0], r)
	if cls == textnorm.Letter {
		return multiBit
	}
	return uint32(cls) << classShift
}
