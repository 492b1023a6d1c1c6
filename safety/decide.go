package safety

import (
	"cmp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/firebreak/firebreak/safety/lexicon"
)

// action applies the overrides to the own action of a hit of detector
// det: the most specific override wins (one for the detector before one
// for any; then code and direction, code, class and direction, class).
func (e *Engine) action(dir Direction, det, code string, own Action) Action {
	if len(e.overrides) == 0 {
		return own
	}
	dets := []string{""}
	if e.detOverrides {
		dets = []string{det, ""}
	}
	for _, d := range dets {
		for _, k := range []overrideKey{{code, int(dir), d}, {code, -1, d}, {CodeClass(code), int(dir), d}, {CodeClass(code), -1, d}} {
			if a, ok := e.overrides[k]; ok {
				return a
			}
		}
	}
	return own
}

func (e *Engine) lexHits(dir Direction, ms []lexicon.Match, hits []Hit) []Hit {
	if hits == nil {
		hits = make([]Hit, 0, len(ms))
	}
	for _, m := range ms {
		hits = append(hits, e.termHits[dir][m.Term])
		h := &hits[len(hits)-1]
		h.Start, h.End = m.Start, m.End
	}
	return hits
}

// detectorHits runs rules and detectors over text, which starts at offset
// base of the whole text, all but the detectors whose ids skip names.
func (e *Engine) detectorHits(dir Direction, text string, base int, skip []string, hits []Hit) []Hit {
	for i := range e.rules {
		r := &e.rules[i]
		for _, loc := range r.re.FindAllStringIndex(text, -1) {
			if loc[1]-loc[0] > r.MaxSpan || loc[1] == loc[0] {
				continue
			}
			hits = append(hits, Hit{Detector: "rule", Rule: r.ID, Term: r.ID, Code: r.Code,
				Action: e.action(dir, "rule", r.Code, r.action), Start: base + loc[0], End: base + loc[1]})
		}
	}
	for _, d := range e.dets {
		if d.id != "" && slices.Contains(skip, d.id) {
			continue
		}
		for _, h := range d.d.Detect(text) {
			if h.Start < 0 || h.End > len(text) || h.Start >= h.End {
				continue // a detector's bad offsets are ignored, not trusted
			}
			if d.id != "" {
				h.Detector = d.id
			}
			h.Start += base
			h.End += base
			h.Action = e.action(dir, h.Detector, h.Code, h.Action)
			hits = append(hits, h)
		}
	}
	return hits
}

// sortHits orders hits by position, then detector and rule. Lexicon hits
// usually arrive in order already, so that case costs one pass.
func sortHits(hits []Hit) {
	if !slices.IsSortedFunc(hits, compareHits) {
		slices.SortFunc(hits, compareHits)
	}
}

// compareHits compares the strings only on a tie: cmp.Or would evaluate
// every comparison for every pair.
func compareHits(a, b Hit) int {
	if a.Start != b.Start {
		return cmp.Compare(a.Start, b.Start)
	}
	if a.End != b.End {
		return cmp.Compare(a.End, b.End)
	}
	if c := strings.Compare(a.Detector, b.Detector); c != 0 {
		return c
	}
	return strings.Compare(a.Rule, b.Rule)
}

// decide turns hits into a decision: the most severe hit decides, the
// first of equally severe ones gives the code.
func (e *Engine) decide(dir Direction, text string, hits []Hit) Decision {
	sortHits(hits)
	d := Decision{Action: Allow, Hits: hits, Version: e.version}
	for _, h := range hits {
		if h.Action > d.Action {
			d.Action, d.Code = h.Action, h.Code
		}
	}
	switch {
	case d.Action >= Refuse:
		d.Reply = e.reply(d.Code, mostlyChinese(text))
	case d.Action >= Mask && hasMask(hits):
		d.Masked = e.maskText(text, 0, hits)
	}
	return d
}

func hasMask(hits []Hit) bool {
	return slices.ContainsFunc(hits, func(h Hit) bool { return h.Action == Mask })
}

// maskText returns text (which starts at offset base) with the runes of
// every Mask hit replaced by the mask.
func (e *Engine) maskText(text string, base int, hits []Hit) string {
	var b strings.Builder
	b.Grow(len(text))
	last := 0 // bytes of text written or masked
	for _, h := range hits {
		if h.Action != Mask {
			continue
		}
		s, t := max(h.Start-base, last), min(h.End-base, len(text))
		if s >= t {
			continue
		}
		b.WriteString(text[last:s])
		for range utf8.RuneCountInString(text[s:t]) {
			b.WriteString(e.mask)
		}
		last = t
	}
	b.WriteString(text[last:])
	return b.String()
}

// mostlyChinese reports whether Han characters are at least half of the
// letters of text. ASCII and the CJK Unified Ideographs block (all Han)
// are told apart without the Unicode tables' search: on text dense with
// hits, a refusal is common and this ran over every refused text.
func mostlyChinese(text string) bool {
	han, letters := 0, 0
	for _, r := range text {
		switch {
		case r < utf8.RuneSelf:
			if c := r | 0x20; c >= 'a' && c <= 'z' {
				letters++
			}
		case r >= 0x4E00 && r <= 0x9FFF:
			han++
			letters++
		case unicode.Is(unicode.Han, r):
			han++
			letters++
		case unicode.IsLetter(r):
			letters++
		}
	}
	return letters > 0 && 2*han >= letters
}
