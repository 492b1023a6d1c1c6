package safety

import (
	"slices"
	"unicode/utf8"

	"github.com/firebreak/firebreak/safety/lexicon"
)

// StreamResult is what one Write or Close of a Stream yields.
type StreamResult struct {
	// Release is text that may go to the client now, masked where a mask
	// hit applies. The Releases of a stream concatenate to a prefix of the
	// text (with masks) that holds no violating term.
	Release string
	// Stop means the output must be cut now: a Refuse or Block hit was
	// found. Decision then carries the safe reply.
	Stop bool
	// Decision is set when Stop is set and on Close.
	Decision Decision
	// Hits are the hits found by this call.
	Hits []Hit
}

// Stream checks a text that arrives in chunks, holding back only what a
// match could still need. Close returns the same decision as Check on the
// whole text. A Stream is not safe for concurrent use.
type Stream struct {
	e        *Engine
	dir      Direction
	lex      *lexicon.Stream
	text     []byte      // everything written; detectors see the whole text at Close
	released int         // bytes of text released
	lexHits  []Hit       // lexicon hits so far (final)
	lexMasks []Hit       // lexicon mask hits that end after the release point
	winHits  []Hit       // provisional rule and detector hits on the held-back window
	near     *nearStream // nil without near rules that refuse in dir
	stopped  bool
	stopDec  Decision
	closed   bool
	unread   bool // nobody reads what is released (a ReadStream's reading): only the offset moves
}

// NewStream starts checking a streamed text in direction dir.
func (e *Engine) NewStream(dir Direction) *Stream {
	return &Stream{e: e, dir: dir, lex: e.lex.NewStream(), near: e.newNearStream(dir)}
}

// Write adds chunk, which may end inside a UTF-8 sequence.
func (s *Stream) Write(chunk string) StreamResult {
	if s.closed {
		return StreamResult{Stop: s.stopped, Decision: s.stopDec}
	}
	s.text = append(s.text, chunk...)
	found := s.e.lexHits(s.dir, s.lex.Write(chunk), nil)
	s.addLexHits(found)
	if s.e.span > 0 && !s.stopped {
		found = append(found, s.windowHits()...)
	}
	if s.near != nil && !s.stopped {
		found = append(found, s.nearWrite(chunk)...)
	}
	res := StreamResult{Hits: found}
	if s.stopped {
		res.Stop, res.Decision = true, s.stopDec
		return res
	}
	if severest(found) >= Refuse {
		s.stop()
		res.Stop, res.Decision = true, s.stopDec
		return res
	}
	res.Release = s.release(s.safe())
	return res
}

// Released is how many bytes of the text written so far were released.
func (s *Stream) Released() int { return s.released }

// Close ends the stream: it decides on the whole text and flushes what
// was held back, unless the decision stops the output.
func (s *Stream) Close() StreamResult {
	if s.closed {
		return StreamResult{Stop: s.stopped, Decision: s.stopDec}
	}
	s.closed = true
	last := s.e.lexHits(s.dir, s.lex.Close(), nil)
	s.addLexHits(last)
	text := string(s.text)
	det := s.e.detectorHits(s.dir, text, 0, nil, nil)
	near := s.e.nearHits(s.dir, text, 0, Allow, nil)
	hits := append(append(append([]Hit(nil), s.lexHits...), near...), det...)
	d := s.e.decide(s.dir, text, hits)
	var known []Hit
	if s.near != nil {
		known = s.near.final
	}
	res := StreamResult{Decision: d, Hits: append(append(last, newHits(near, known)...), newHits(det, s.winHits)...)}
	if s.stopped || d.Action >= Refuse {
		s.stopped, s.stopDec = true, d
		res.Stop = true
		return res
	}
	s.winHits = hitsAfter(hits, s.released)
	res.Release = s.release(len(s.text))
	return res
}

// addLexHits records final lexicon hits; the mask hits also go to a short
// list, so that a release does not walk every hit of the stream.
func (s *Stream) addLexHits(hits []Hit) {
	s.lexHits = append(s.lexHits, hits...)
	for _, h := range hits {
		if h.Action == Mask {
			s.lexMasks = append(s.lexMasks, h)
		}
	}
}

func (s *Stream) stop() {
	hits := append(append([]Hit(nil), s.lexHits...), s.winHits...)
	if s.near != nil {
		hits = append(hits, s.near.final...)
	}
	s.stopped = true
	s.stopDec = s.e.decide(s.dir, string(s.text), hits)
}

// windowHits runs rules and detectors over the held-back text plus enough
// context before it, and returns the hits not seen before.
func (s *Stream) windowHits() []Hit {
	start := max(0, s.released-s.e.span)
	for start > 0 && !utf8.RuneStart(s.text[start]) {
		start--
	}
	end := len(s.text)
	if i := lastRuneStart(s.text, start); !utf8.FullRune(s.text[i:]) {
		end = i // the last rune is still incomplete
	}
	got := s.e.detectorHits(s.dir, string(s.text[start:end]), start, nil, nil)
	fresh := newHits(got, s.winHits)
	// The window's hits replace the provisional ones: a hit found while the
	// text ended in the middle of something longer ("a@b.com" before
	// "138…" glued on) is no hit once the rest arrives.
	s.winHits = hitsAfter(got, s.released)
	return fresh
}

// safe is how much of the text may be released: nothing a lexicon match
// may still start in, and nothing a rule or detector may still need.
func (s *Stream) safe() int {
	lexSafe := s.lex.Safe()
	safe := lexSafe
	if s.e.span > 0 {
		safe = min(safe, max(s.released, len(s.text)-s.holdBack()))
	}
	for safe > s.released && safe < len(s.text) && !utf8.RuneStart(s.text[safe]) {
		safe--
	}
	if s.near != nil {
		safe = min(safe, max(s.released, s.near.hold))
	}
	if safe > s.released && (safe < lexSafe || s.e.hasAllow) {
		safe = s.trimTail(safe)
	}
	if s.near != nil {
		safe = s.nearTrim(safe)
	}
	return max(safe, s.released)
}

// holdBack is how many bytes at the end of the text a rule or detector
// may still need: each detector's own estimate where it gives one
// (Holder), its longest span otherwise, and the longest rule span.
func (s *Stream) holdBack() int {
	n := s.e.ruleSpan
	var tail string
	for _, d := range s.e.dets {
		h, ok := d.d.(Holder)
		if !ok {
			n = max(n, d.span)
			continue
		}
		if tail == "" {
			tail = string(s.text[max(s.released, len(s.text)-s.e.span):])
		}
		n = max(n, min(h.Hold(tail), d.span))
	}
	return n
}

// tailWindow is how much text before a release point trimTail rescans.
const tailWindow = 256

// trimTail moves a release point back until the released prefix, read on
// its own, ends in no term that the rest of the text cancels (a cut inside
// an allow phrase "炸弹|面包", or inside a word "bomb|astic").
func (s *Stream) trimTail(safe int) int {
	for safe > s.released {
		from := max(0, safe-tailWindow)
		for from > 0 && !utf8.RuneStart(s.text[from]) {
			from--
		}
		cut := safe
		for _, m := range s.e.lex.Find(string(s.text[from:safe])) {
			start := from + m.Start
			if from > 0 && m.Start < tailWindow/4 {
				continue // may be an artefact of the window's own start
			}
			if s.e.termAction[m.Term] >= Mask && !s.knownLexHit(m.Term, start, from+m.End) {
				cut = min(cut, start)
			}
		}
		if cut == safe {
			return safe
		}
		safe = cut
	}
	return safe
}

func (s *Stream) knownLexHit(term, start, end int) bool {
	id := s.e.lex.Term(term).ID
	for _, h := range s.lexHits {
		if h.Start == start && h.End == end && h.Rule == id {
			return true
		}
	}
	return false
}

// release returns text[released:upto] with mask hits applied, and moves
// the release point.
func (s *Stream) release(upto int) string {
	if upto <= s.released {
		return ""
	}
	if s.unread {
		s.released = upto
		s.lexMasks = slices.DeleteFunc(s.lexMasks, func(h Hit) bool { return h.End <= upto })
		return ""
	}
	seg := string(s.text[s.released:upto])
	var masks []Hit
	for _, h := range s.lexMasks {
		if h.End > s.released && h.Start < upto {
			masks = append(masks, h)
		}
	}
	for _, h := range s.winHits {
		if h.Action == Mask && h.End > s.released && h.Start < upto {
			masks = append(masks, h)
		}
	}
	if len(masks) > 0 {
		sortHits(masks)
		seg = s.e.maskText(seg, s.released, masks)
	}
	s.released = upto
	s.lexMasks = slices.DeleteFunc(s.lexMasks, func(h Hit) bool { return h.End <= upto })
	return seg
}

func severest(hits []Hit) Action {
	a := Allow
	for _, h := range hits {
		a = max(a, h.Action)
	}
	return a
}

func sameHit(a, b Hit) bool {
	return a.Start == b.Start && a.End == b.End && a.Detector == b.Detector && a.Rule == b.Rule
}

func newHits(got, known []Hit) []Hit {
	var fresh []Hit
	for _, h := range got {
		seen := false
		for _, k := range known {
			if sameHit(h, k) {
				seen = true
				break
			}
		}
		if !seen {
			fresh = append(fresh, h)
		}
	}
	return fresh
}

func hitsAfter(hits []Hit, off int) []Hit {
	var out []Hit
	for _, h := range hits {
		if h.End > off {
			out = append(out, h)
		}
	}
	return out
}

func lastRuneStart(b []byte, floor int) int {
	i := len(b) - 1
	for i > floor && !utf8.RuneStart(b[i]) {
		i--
	}
	return max(i, floor)
}
