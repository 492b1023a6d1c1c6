package lexicon

import (
	"fmt"
	"slices"
	"sort"
	"unicode"

	"github.com/firebreak/firebreak/safety/textnorm"
)

// A pattern is one form of a term, or an allow/near phrase, as the
// automaton sees it: collapsed folded runes.
type pattern struct {
	plain     bool    // a term with no repeats, allow-list or near rule: only word edges to check
	aux       bool    // a term with an allow-list or a near rule
	lastRun   uint8   // runs[len(runs)-1], or 1
	phrase    bool    // an allow or near phrase (owner is its phrase id), not a term
	owner     int32   // term index, or phrase id
	nsym      int32   // collapsed length
	runs      []uint8 // minimum repeat of each symbol; nil when every run is 1
	wordStart bool    // starts with a word rune: must not follow one
	wordEnd   bool    // ends with a word rune: must not be followed by one
}

type builder struct {
	l       *Lexicon
	opts    Options
	seqBuf  []rune   // collapsed runes of all patterns, one after the other
	seqEnd  []int32  // pattern i is seqBuf[seqEnd[i-1]:seqEnd[i]]
	runBuf  []uint8  // scratch for the repeat counts of a pattern
	scratch []rune   // scratch for a term's letters
	formBuf [][]rune // scratch for a term's forms
	phrases map[string]int32
	// formStart is the first pattern of the term being added; its forms
	// are deduplicated against each other only, which needs no map.
	formStart int
}

func newBuilder(l *Lexicon, opts Options) *builder {
	return &builder{l: l, opts: opts, phrases: map[string]int32{}}
}

// seq returns the collapsed runes of pattern i.
func (b *builder) seq(i int) []rune {
	start := int32(0)
	if i > 0 {
		start = b.seqEnd[i-1]
	}
	return b.seqBuf[start:b.seqEnd[i]]
}

func (b *builder) addTerms() error {
	ids := make(map[string]int, len(b.l.terms))
	b.l.termAux = make([]termAux, len(b.l.terms))
	b.l.pats = make([]pattern, 0, len(b.l.terms))
	b.seqEnd = make([]int32, 0, len(b.l.terms))
	b.seqBuf = make([]rune, 0, 4*len(b.l.terms))
	for i := range b.l.terms {
		t := &b.l.terms[i]
		if t.ID == "" {
			t.ID = t.Text
		}
		if j, dup := ids[t.ID]; dup {
			return fmt.Errorf("lexicon: term %q: same id as term %d", t.ID, j+1)
		}
		ids[t.ID] = i
		if err := b.addTerm(i, t); err != nil {
			return &TermError{ID: t.ID, Err: err}
		}
	}
	return nil
}

func (b *builder) addTerm(i int, t *Term) error {
	forms, err := b.forms(t)
	if err != nil {
		return err
	}
	b.formStart = len(b.l.pats)
	for k, f := range forms {
		if err := b.addPattern(false, int32(i), f); err != nil {
			if k == 0 {
				return err
			}
			continue // an overlong derived form is dropped, not an error
		}
	}
	aux := &b.l.termAux[i]
	for _, a := range t.Allow {
		id, err := b.phrase(a)
		if err != nil {
			return fmt.Errorf("allow phrase %q: %w", a, err)
		}
		aux.allow = append(aux.allow, id)
	}
	if t.Near != nil {
		if len(t.Near.Phrases) == 0 {
			return fmt.Errorf("near: no phrases")
		}
		aux.within = t.Near.Within
		if aux.within == 0 {
			aux.within = defaultWithin
		}
		if aux.within < 0 || aux.within > maxWithin {
			return fmt.Errorf("near: within %d: must be 1…%d", aux.within, maxWithin)
		}
		b.l.maxWithin = max(b.l.maxWithin, aux.within)
		for _, p := range t.Near.Phrases {
			id, err := b.phrase(p)
			if err != nil {
				return fmt.Errorf("near phrase %q: %w", p, err)
			}
			aux.near = append(aux.near, id)
		}
	}
	return nil
}

func (b *builder) phrase(text string) (int32, error) {
	letters := []rune(b.l.norm.Letters(text))
	key := string(letters)
	if id, ok := b.phrases[key]; ok {
		return id, nil
	}
	id := int32(len(b.phrases))
	if err := b.addPattern(true, id, letters); err != nil {
		return 0, err
	}
	b.phrases[key] = id
	return id, nil
}

// addPattern collapses a form's folded letters and records it.
func (b *builder) addPattern(phrase bool, owner int32, letters []rune) error {
	if len(letters) == 0 {
		return fmt.Errorf("nothing to match after normalisation")
	}
	start := len(b.seqBuf)
	runs := b.runBuf[:0]
	repeats := false
	for _, r := range letters {
		if b.l.collect && len(b.seqBuf) > start && b.seqBuf[len(b.seqBuf)-1] == r {
			if runs[len(runs)-1] < 255 {
				runs[len(runs)-1]++
			}
			repeats = true
			continue
		}
		b.seqBuf = append(b.seqBuf, r)
		runs = append(runs, 1)
	}
	b.runBuf = runs
	seq := b.seqBuf[start:]
	if len(seq) > MaxTermRunes || (!phrase && b.duplicateForm(seq, runs)) {
		b.seqBuf = b.seqBuf[:start]
		if len(seq) > MaxTermRunes {
			return fmt.Errorf("%d characters after normalisation: at most %d", len(seq), MaxTermRunes)
		}
		return nil
	}
	p := pattern{phrase: phrase, owner: owner, nsym: int32(len(seq)),
		wordStart: textnorm.IsWordRune(seq[0]), wordEnd: textnorm.IsWordRune(seq[len(seq)-1])}
	p.lastRun = 1
	if repeats {
		p.runs = slices.Clone(runs)
		p.lastRun = runs[len(runs)-1]
	}
	b.l.pats = append(b.l.pats, p)
	b.seqEnd = append(b.seqEnd, int32(len(b.seqBuf)))
	return nil
}

// duplicateForm reports whether the term being added already has a form
// with these collapsed runes and repeat counts. (Phrases are deduplicated
// by their letters before they get here.)
func (b *builder) duplicateForm(seq []rune, runs []uint8) bool {
	for i := b.formStart; i < len(b.l.pats); i++ {
		if !slices.Equal(b.seq(i), seq) {
			continue
		}
		p := &b.l.pats[i]
		if p.runs == nil && !slices.ContainsFunc(runs, func(r uint8) bool { return r != 1 }) || slices.Equal(p.runs, runs) {
			return true
		}
	}
	return false
}

// build numbers the alphabet, builds the automaton and composes the
// rune → symbol tables.
func (b *builder) build() {
	alpha := b.alphabet()
	b.l.alpha = alpha
	b.l.maxSym = len(alpha)
	syms := make([]uint32, len(b.seqBuf))
	for i, r := range b.seqBuf {
		syms[i] = alpha[r]
	}
	for i := range b.l.pats {
		p := &b.l.pats[i]
		p.aux = !p.phrase && (len(b.l.termAux[p.owner].allow) > 0 || len(b.l.termAux[p.owner].near) > 0)
		p.plain = !p.phrase && p.runs == nil && !p.aux
	}
	b.l.da = buildDoubleArray(syms, b.seqEnd, b.l.pats, len(alpha))
	b.l.shallow = buildShallow(&b.l.da, syms, b.seqEnd, len(alpha))
	b.l.ends = buildEnds(syms, b.seqEnd, b.l.pats, len(alpha))
	b.seqBuf, b.seqEnd = nil, nil
	b.composeTables()
	b.l.ends.markRunes(b.l.bmp)
	if b.opts.NoSkim {
		b.l.ends.window = 0
	}
}

// alphabet numbers the runes of all patterns from 1, most frequent first,
// so that the busiest transitions sit close together in the double array.
func (b *builder) alphabet() map[rune]uint32 {
	count := map[rune]int{}
	for _, r := range b.seqBuf {
		count[r]++
	}
	runes := make([]rune, 0, len(count))
	for r := range count {
		runes = append(runes, r)
	}
	sort.Slice(runes, func(i, j int) bool {
		if count[runes[i]] != count[runes[j]] {
			return count[runes[i]] > count[runes[j]]
		}
		return runes[i] < runes[j]
	})
	alpha := make(map[rune]uint32, len(runes))
	for i, r := range runes {
		alpha[r] = uint32(i + 1)
	}
	return alpha
}

// composeTables folds every rune of the Basic Multilingual Plane once and
// stores its class and symbol, so that the matcher pays one load per rune.
func (b *builder) composeTables() {
	l := b.l
	l.bmp = make([]uint32, 0x10000)
	multiIndex := map[string]uint32{}
	var buf [16]rune
	for r := rune(0); r < 0x10000; r++ {
		l.bmp[r] = l.composeRune(r, buf[:0], multiIndex)
	}
}

func (l *Lexicon) composeRune(r rune, buf []rune, multiIndex map[string]uint32) uint32 {
	if r >= 0xD800 && r <= 0xDFFF {
		r = unicode.ReplacementChar
	}
	cls, out := l.norm.AppendFold(buf, r)
	if cls != textnorm.Letter {
		return uint32(cls) << classShift
	}
	if len(out) == 1 {
		return l.symWord(out[0])
	}
	key := string(out)
	if i, ok := multiIndex[key]; ok {
		return multiBit | i
	}
	seq := make([]uint32, len(out))
	for i, x := range out {
		seq[i] = l.symWord(x)
	}
	i := uint32(len(l.multi))
	l.multi = append(l.multi, seq)
	multiIndex[key] = i
	return multiBit | i
}

// symWord is a folded rune's symbol with its word and end flags.
func (l *Lexicon) symWord(f rune) uint32 {
	e := l.alpha[f]
	if l.ends.flags[e] != 0 {
		e |= endBit
	}
	if textnorm.IsWordRune(f) {
		e |= wordBit
	}
	return e
}

// TermError is a term the lexicon cannot hold (nothing left to match after
// normalisation, too long); ID names it.
type TermError struct {
	ID  string
	Err error
}

func (e *TermError) Error() string { return fmt.Sprintf("lexicon: term %q: %v", e.ID, e.Err) }
func (e *TermError) Unwrap() error { return e.Err }
