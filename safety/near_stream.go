package safety

import (
	"slices"
	"unicode/utf8"

	"github.com/firebreak/firebreak/safety/lexicon"
)

// nearStream follows, on a stream, the near rules that refuse in its
// direction: it finds their phrases as they arrive, stops the stream once
// a pair hits for good (no except phrase can come near it any more), and
// says how much must be held back because it may still become part of a
// hit: an occurrence a partner may still follow, or a pair an except
// phrase may still cancel.
type nearStream struct {
	ls     *lexicon.Stream
	cur    units     // units up to the automaton's safe point
	occs   []nearOcc // occurrences still of use
	hold   int       // nothing from here on may be released
	safe   int       // the automaton's safe point
	objEnd int       // the largest end of an object occurrence seen
	intEnd int       // the largest end of an intent occurrence seen
	// cancelEnd is the largest end of a pair an except phrase cancels:
	// read without that phrase, a released prefix would hit.
	cancelEnd int
	final     []Hit // hits found for good
}

func (e *Engine) newNearStream(dir Direction) *nearStream {
	if e.near == nil || !e.nearRefuses[dir] {
		return nil
	}
	return &nearStream{ls: e.near.lex.NewStream()}
}

// nearWrite scans chunk, which s.text already ends with, and returns the
// near hits it makes final.
func (s *Stream) nearWrite(chunk string) []Hit {
	n, c := s.near, s.e.near
	if ms := n.ls.Write(chunk); len(ms) > 0 {
		n.occs = c.occurrences(s.text, ms, n.cur, s.e.nearRefuseRule[s.dir], n.occs)
		sortOccs(n.occs) // pairs needs them by rule and start; prune keeps the order
	}
	n.safe = n.ls.Safe()
	n.cur.advance(c, s.text, n.safe)
	used := make([]bool, len(n.occs))
	hold := n.safe
	var fresh []Hit
	var pairs []nearPair
	if slices.ContainsFunc(n.occs, func(o nearOcc) bool { return o.role == roleObject }) {
		pairs = c.pairs(n.occs, true, nil)
	}
	for _, p := range pairs {
		if p.cancelled {
			n.cancelEnd = max(n.cancelEnd, p.end)
			continue
		}
		if n.cur.n > p.uend+c.rules[p.rule].ExceptWithin {
			fresh = append(fresh, s.e.nearHit(s.dir, p, 0))
			continue
		}
		hold = min(hold, p.start)
		used[p.i], used[p.o] = true, true
	}
	n.hold = s.prune(used, hold)
	fresh = newHits(fresh, n.final)
	n.final = append(n.final, fresh...)
	return fresh
}

// prune drops the occurrences that can take part in no hit any more and
// returns hold lowered to the start of those kept. It keeps their order.
func (s *Stream) prune(used []bool, hold int) int {
	n, c := s.near, s.e.near
	keep := func(i int) bool {
		o := &n.occs[i]
		return used[i] || n.cur.n-o.uend <= c.rules[o.rule].Within
	}
	minU, maxEW := n.cur.n, 0
	for i, o := range n.occs {
		switch o.role {
		case roleObject:
			n.objEnd = max(n.objEnd, o.end)
		case roleIntent:
			n.intEnd = max(n.intEnd, o.end)
		case roleExcept:
			maxEW = max(maxEW, c.rules[o.rule].ExceptWithin)
			continue
		}
		if keep(i) {
			hold = min(hold, o.start)
			minU = min(minU, o.ustart)
		}
	}
	// An except phrase matters while it may still be near a pair of
	// occurrences kept or yet to come.
	kept := n.occs[:0]
	for i, o := range n.occs {
		if o.role == roleExcept && o.uend >= minU-maxEW || o.role != roleExcept && keep(i) {
			kept = append(kept, o)
		}
	}
	n.occs = kept
	return hold
}

// nearTrim moves a release point back until the released prefix, read on
// its own, holds no refused near hit: a pair whose except phrase comes
// after the cut would hit in the prefix alone, and so would a phrase that
// the cut ends ("napalm|ish") next to one not yet released. The first
// needs a cancelled pair not yet released; the second a cut that another
// hold-back put inside a word (a cut at the near rules' own hold is at the
// start of a phrase, where no Latin word goes on). Most writes skip the
// rescan.
func (s *Stream) nearTrim(safe int) int {
	n := s.near
	for safe > s.released && (n.cancelEnd > s.released || safe < n.hold && max(n.intEnd, n.objEnd) > s.released) {
		from := max(0, s.released-tailWindow)
		for from > 0 && !utf8.RuneStart(s.text[from]) {
			from--
		}
		cut := safe
		for _, h := range s.e.nearHits(s.dir, string(s.text[from:safe]), from, Refuse, nil) {
			if h.Start >= s.released {
				cut = min(cut, h.Start)
			}
		}
		if cut == safe {
			return safe
		}
		safe = cut
	}
	return safe
}
