package safety

import (
	"cmp"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/firebreak/firebreak/safety/lexicon"
	"github.com/firebreak/firebreak/safety/textnorm"
)

// NearRule is an intent rule: a hit when a phrase of Intent (an action or
// aim: "教我", "how to make", "where can I buy") occurs within Within
// units of a phrase of Object (what the action is about: "冰毒", "pipe
// bomb"), unless a phrase of Except ("危害", "how to recognise", "history
// of") occurs within ExceptWithin units of the pair, which marks a
// question about the harm rather than a request for it.
//
// Phrases are matched like lexicon terms: after normalisation, with noise
// between their characters, Latin phrases as whole words. Distances are
// counted in units of the normalised text: a letter (a Chinese character,
// a Latin letter, a digit) is one unit, and a run of spaces, punctuation
// and line breaks, however long, is one unit; invisible characters count
// for nothing. "how to make a bomb" has 8 units between "how to" and
// "bomb".
type NearRule struct {
	ID     string   `json:"id" yaml:"id"`
	Code   string   `json:"code" yaml:"code"`
	Action string   `json:"action,omitempty" yaml:"action,omitempty"` // default: Config.DefaultAction; not mask
	Intent []string `json:"intent" yaml:"intent"`
	Object []string `json:"object" yaml:"object"`
	Except []string `json:"except,omitempty" yaml:"except,omitempty"`
	// Within is the most units between the intent and the object phrase;
	// default DefaultNearWithin, at most MaxNearWithin.
	Within int `json:"within,omitempty" yaml:"within,omitempty"`
	// ExceptWithin is the most units between an except phrase and the
	// pair (before or after it); default Within.
	ExceptWithin int `json:"except_within,omitempty" yaml:"except_within,omitempty"`
	// IntentFirst counts only an intent before its object ("教我…冰毒",
	// not "冰毒…教我"). Default: either order.
	IntentFirst bool `json:"intent_first,omitempty" yaml:"intent_first,omitempty"`
}

// Limits of near rules.
const (
	DefaultNearWithin = 12
	MaxNearWithin     = 200
)

const (
	roleIntent uint8 = iota
	roleObject
	roleExcept
)

// nearCore is the compiled, action-free part of a policy's near rules:
// one automaton over every phrase of every rule, and what each phrase is
// to which rule. Engines that differ only in actions share it.
type nearCore struct {
	rules []NearRule // with defaults applied
	lex   *lexicon.Lexicon
	norm  *textnorm.Normaliser
	roles [][]nearRole                  // per lexicon term
	ascii [utf8.RuneSelf]textnorm.Class // norm's class of each ASCII rune
}

type nearRole struct {
	rule int32
	role uint8
}

// nearOcc is one occurrence of a phrase in one role of one rule. Offsets
// are bytes of the original text; u* are units before them.
type nearOcc struct {
	rule         int32
	role         uint8
	start, end   int
	ustart, uend int
}

func (e *Engine) compileNear(cfg Config, def Action) error {
	if len(cfg.Near) == 0 {
		return nil
	}
	rules := make([]NearRule, len(cfg.Near))
	e.nearAction = make([]Action, len(cfg.Near))
	ids := map[string]bool{}
	for i, r := range cfg.Near {
		if r.ID == "" {
			return fmt.Errorf("near rule %d: id is required", i+1)
		}
		if ids[r.ID] {
			return fmt.Errorf("near rule %s: duplicate id", r.ID)
		}
		ids[r.ID] = true
		a, err := nearRuleAction(r, def)
		if err != nil {
			return fmt.Errorf("near rule %s: %w", r.ID, err)
		}
		e.nearAction[i] = a
		if r, err = withNearDefaults(r); err != nil {
			return fmt.Errorf("near rule %s: %w", r.ID, err)
		}
		rules[i] = r
	}
	if sh := cfg.Share; sh != nil && sh.near != nil && sameNearRules(sh.near.rules, rules) && sh.lexOpts.Norm == cfg.Normalise {
		e.near = sh.near
		return nil
	}
	core, err := buildNear(rules, cfg.Normalise)
	if err != nil {
		return err
	}
	e.near = core
	return nil
}

func nearRuleAction(r NearRule, def Action) (Action, error) {
	if err := ValidCode(r.Code); err != nil {
		return def, err
	}
	if r.Action == "" {
		return def, nil
	}
	a, err := ParseAction(r.Action)
	if err != nil {
		return def, err
	}
	if a == Mask {
		return def, fmt.Errorf("action mask: a near rule spans two phrases and the text between; use review, refuse or block")
	}
	return a, nil
}

func withNearDefaults(r NearRule) (NearRule, error) {
	if len(r.Intent) == 0 || len(r.Object) == 0 {
		return r, fmt.Errorf("needs at least one intent and one object phrase")
	}
	if r.Within == 0 {
		r.Within = DefaultNearWithin
	}
	if r.ExceptWithin == 0 {
		r.ExceptWithin = r.Within
	}
	if r.Within < 0 || r.Within > MaxNearWithin || r.ExceptWithin < 0 || r.ExceptWithin > MaxNearWithin {
		return r, fmt.Errorf("within %d, except_within %d: each must be 1…%d", r.Within, r.ExceptWithin, MaxNearWithin)
	}
	return r, nil
}

func sameNearRules(a, b []NearRule) bool {
	return slices.EqualFunc(a, b, func(x, y NearRule) bool {
		return x.ID == y.ID && x.Code == y.Code && x.Within == y.Within && x.ExceptWithin == y.ExceptWithin &&
			x.IntentFirst == y.IntentFirst && slices.Equal(x.Intent, y.Intent) && slices.Equal(x.Object, y.Object) &&
			slices.Equal(x.Except, y.Except)
	})
}

// buildNear compiles the phrases of every rule into one automaton. A
// phrase used by several rules, or in several roles, is one term.
func buildNear(rules []NearRule, opts textnorm.Options) (*nearCore, error) {
	norm, err := textnorm.New(opts)
	if err != nil {
		return nil, err
	}
	c := &nearCore{rules: rules, norm: norm}
	for r := range rune(utf8.RuneSelf) {
		c.ascii[r] = norm.Class(r)
	}
	index := map[string]int{}
	var terms []lexicon.Term
	for ri, r := range rules {
		for role, phrases := range [][]string{r.Intent, r.Object, r.Except} {
			for _, p := range phrases {
				if err := ValidNearPhrase(norm, p); err != nil {
					return nil, fmt.Errorf("near rule %s: phrase %q: %w", r.ID, p, err)
				}
				key := norm.Letters(p) // the automaton matches "how to" and "howto" alike
				ti, ok := index[key]
				if !ok {
					ti = len(terms)
					index[key] = ti
					terms = append(terms, lexicon.Term{ID: key, Text: p, Code: r.Code})
					c.roles = append(c.roles, nil)
				}
				nr := nearRole{rule: int32(ri), role: uint8(role)}
				if !slices.Contains(c.roles[ti], nr) {
					c.roles[ti] = append(c.roles[ti], nr)
				}
			}
		}
	}
	lx, err := lexicon.New(terms, lexicon.Options{Norm: opts})
	if err != nil {
		return nil, fmt.Errorf("near rules: %w", err)
	}
	c.lex = lx
	return c, nil
}

// ValidNearPhrase reports whether p can be a phrase of a near rule under
// norm: it must have something to match and at most
// lexicon.MaxTermRunes characters after normalisation.
func ValidNearPhrase(norm *textnorm.Normaliser, p string) error {
	n := utf8.RuneCountInString(norm.Letters(p))
	switch {
	case n == 0:
		return fmt.Errorf("nothing to match after normalisation")
	case n > lexicon.MaxTermRunes:
		return fmt.Errorf("%d characters after normalisation: at most %d", n, lexicon.MaxTermRunes)
	}
	return nil
}

// units counts the units of normalised text from a known point on. The
// zero value is at offset 0 of a text.
type units struct {
	off, n  int
	inNoise bool // the last rune was noise: more noise adds no unit
}

// advance moves u to offset to of text, which it must not pass.
func (u *units) advance(c *nearCore, text []byte, to int) {
	for u.off < to {
		var cls textnorm.Class
		if b := text[u.off]; b < utf8.RuneSelf {
			cls = c.ascii[b]
			u.off++
		} else {
			r, size := utf8.DecodeRune(text[u.off:])
			cls = c.norm.Class(r)
			u.off += size
		}
		switch cls {
		case textnorm.Letter:
			u.n++
			u.inNoise = false
		case textnorm.Noise, textnorm.Break:
			if !u.inNoise {
				u.n++
			}
			u.inNoise = true
		}
	}
}

// occurrences turns matches of the near automaton into occurrences of the
// rules keep marks, with units counted from u; every match must start at
// or after u.off. u is left where it was.
func (c *nearCore) occurrences(text []byte, ms []lexicon.Match, u units, keep []bool, out []nearOcc) []nearOcc {
	if len(ms) == 0 {
		return out
	}
	offs := make([]int, 0, 2*len(ms))
	n := 0
	for _, m := range ms {
		k := n
		for _, r := range c.roles[m.Term] {
			if keep[r.rule] {
				n++
			}
		}
		if n > k {
			// units are counted only as far as a kept occurrence needs
			offs = append(offs, m.Start, m.End)
		}
	}
	if n == 0 {
		return out
	}
	out = slices.Grow(out, n)
	slices.Sort(offs)
	offs = slices.Compact(offs)
	at := make([]int, len(offs))
	for i, o := range offs {
		u.advance(c, text, o)
		at[i] = u.n
	}
	unitAt := func(o int) int { i, _ := slices.BinarySearch(offs, o); return at[i] }
	for _, m := range ms {
		us, ue := -1, -1 // looked up at the first kept role
		for _, r := range c.roles[m.Term] {
			if !keep[r.rule] {
				continue
			}
			if us < 0 {
				us, ue = unitAt(m.Start), unitAt(m.End)
			}
			out = append(out, nearOcc{rule: r.rule, role: r.role, start: m.Start, end: m.End, ustart: us, uend: ue})
		}
	}
	return out
}

// nearPair is an intent and an object of one rule close enough together;
// i and o index the occurrences it was found in.
type nearPair struct {
	rule                     int32
	start, end, ustart, uend int // the span of both
	gap                      int
	i, o                     int
	cancelled                bool // an except phrase is near (only with all)
}

// pairs finds the pairs of intents and objects that no except phrase
// cancels: for every object occurrence the nearest intent of the same rule
// (the earlier on a tie), or with all set every such intent and the
// cancelled pairs too, marked. occs must be sorted by rule, then start.
func (c *nearCore) pairs(occs []nearOcc, all bool, out []nearPair) []nearPair {
	for lo := 0; lo < len(occs); {
		hi := lo
		for hi < len(occs) && occs[hi].rule == occs[lo].rule {
			hi++
		}
		out = c.rulePairs(occs, lo, hi, all, out)
		lo = hi
	}
	return out
}

// maxPhraseUnits bounds the units one phrase occurrence spans: its
// letters and a noise run between each two.
const maxPhraseUnits = 2 * lexicon.MaxTermRunes

func (c *nearCore) rulePairs(occs []nearOcc, lo, hi int, all bool, out []nearPair) []nearPair {
	r := &c.rules[occs[lo].rule]
	var intents, excepts []int
	for k := lo; k < hi; k++ {
		switch occs[k].role {
		case roleIntent:
			intents = append(intents, k)
		case roleExcept:
			excepts = append(excepts, k)
		}
	}
	for oi := lo; oi < hi; oi++ {
		o := &occs[oi]
		if o.role != roleObject {
			continue
		}
		best := nearPair{gap: -1}
		// Occurrences are sorted by start, so by units too: only intents
		// that start within reach of the object are looked at.
		for _, ii := range within(occs, intents, o.ustart-r.Within-maxPhraseUnits, o.uend+r.Within) {
			i := &occs[ii]
			var gap int
			switch {
			case i.end <= o.start:
				gap = o.ustart - i.uend
			case o.end <= i.start && !r.IntentFirst:
				gap = i.ustart - o.uend
			default:
				continue // overlapping, or in the wrong order
			}
			if gap > r.Within || (!all && best.gap >= 0 && gap >= best.gap) {
				continue
			}
			p := nearPair{rule: o.rule, start: min(i.start, o.start), end: max(i.end, o.end),
				ustart: min(i.ustart, o.ustart), uend: max(i.uend, o.uend), gap: gap, i: ii, o: oi}
			p.cancelled = cancelled(occs, within(occs, excepts, p.ustart-r.ExceptWithin-maxPhraseUnits, p.uend+r.ExceptWithin), p, r.ExceptWithin)
			if p.cancelled && !all {
				continue
			}
			if all {
				out = append(out, p)
			} else {
				best = p
			}
		}
		if best.gap >= 0 {
			out = append(out, best)
		}
	}
	return out
}

// within returns the indices of idx (sorted by their occurrences' start)
// whose occurrence starts between the units from and to.
func within(occs []nearOcc, idx []int, from, to int) []int {
	i, _ := slices.BinarySearchFunc(idx, from, func(k, u int) int { return cmp.Compare(occs[k].ustart, u) })
	j := i
	for j < len(idx) && occs[idx[j]].ustart <= to {
		j++
	}
	return idx[i:j]
}

// cancelled reports whether one of the except occurrences xs is within ew
// units of the pair's span, or inside it.
func cancelled(occs []nearOcc, xs []int, p nearPair, ew int) bool {
	for _, k := range xs {
		if x := &occs[k]; x.uend >= p.ustart-ew && x.ustart <= p.uend+ew {
			return true
		}
	}
	return false
}

// groupByRule orders occurrences by rule, keeping their order within a
// rule: a counting sort, linear where a comparison sort was most of the
// cost of a check. Occurrences made from Find's matches come by start, so
// the result is by rule, then start.
func groupByRule(occs []nearOcc, rules int) []nearOcc {
	next := make([]int, rules+1)
	for _, o := range occs {
		next[o.rule+1]++
	}
	for r := 1; r <= rules; r++ {
		next[r] += next[r-1]
	}
	out := make([]nearOcc, len(occs))
	for _, o := range occs {
		out[next[o.rule]] = o
		next[o.rule]++
	}
	return out
}

func sortOccs(occs []nearOcc) {
	slices.SortFunc(occs, func(a, b nearOcc) int {
		return cmp.Or(cmp.Compare(a.rule, b.rule), cmp.Compare(a.start, b.start), cmp.Compare(a.end, b.end), cmp.Compare(a.role, b.role))
	})
}

// nearHits finds the near-rule hits of a whole text, which starts at
// offset base of the text the hits refer to. With minAction above Allow,
// only rules whose action in dir is at least that are looked at.
func (e *Engine) nearHits(dir Direction, text string, base int, minAction Action, hits []Hit) []Hit {
	if e.near == nil {
		return hits
	}
	return e.nearHitsOf(dir, text, base, minAction, e.near.lex.Find(text), hits)
}

// nearHitsOf is nearHits from the near automaton's matches ms in text.
func (e *Engine) nearHitsOf(dir Direction, text string, base int, minAction Action, ms []lexicon.Match, hits []Hit) []Hit {
	if len(ms) == 0 {
		return hits
	}
	// Only rules with both an intent and an object in the text can hit;
	// the units of the text are counted for their phrases only.
	const hasIntent, hasObject = 1, 2
	seen := make([]uint8, len(e.near.rules))
	for _, m := range ms {
		for _, r := range e.near.roles[m.Term] {
			switch {
			case e.nearDirAction[dir][r.rule] < minAction:
			case r.role == roleIntent:
				seen[r.rule] |= hasIntent
			case r.role == roleObject:
				seen[r.rule] |= hasObject
			}
		}
	}
	keep := make([]bool, len(seen))
	any := false
	for i, f := range seen {
		keep[i] = f == hasIntent|hasObject
		any = any || keep[i]
	}
	if !any {
		return hits
	}
	occs := groupByRule(e.near.occurrences([]byte(text), ms, units{}, keep, nil), len(e.near.rules))
	for _, p := range e.near.pairs(occs, false, nil) {
		hits = append(hits, e.nearHit(dir, p, base))
	}
	return hits
}

func (e *Engine) nearHit(dir Direction, p nearPair, base int) Hit {
	r := &e.near.rules[p.rule]
	return Hit{Detector: "near", Rule: r.ID, Term: r.ID, Code: r.Code, Action: e.nearDirAction[dir][p.rule],
		Start: base + p.start, End: base + p.end}
}

// prepareNear applies the overrides to each near rule's action, per
// direction, and notes the directions in which some rule refuses.
func (e *Engine) prepareNear(Config, Action) error {
	if e.near == nil {
		return nil
	}
	for _, dir := range []Direction{Input, Output} {
		acts := make([]Action, len(e.nearAction))
		refuse := make([]bool, len(e.nearAction))
		for i, a := range e.nearAction {
			acts[i] = e.action(dir, "near", e.near.rules[i].Code, a)
			refuse[i] = acts[i] >= Refuse
			e.nearRefuses[dir] = e.nearRefuses[dir] || refuse[i]
		}
		e.nearDirAction[dir], e.nearRefuseRule[dir] = acts, refuse
	}
	return nil
}

// NearRules returns the number of near rules the engine holds.
func (e *Engine) NearRules() int {
	if e.near == nil {
		return 0
	}
	return len(e.near.rules)
}
