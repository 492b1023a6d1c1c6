// Package lexicon finds the terms of a safety lexicon in text, after the
// normalisation of package textnorm, and reports every hit with byte
// offsets into the original text.
//
// A Lexicon is an Aho–Corasick automaton over folded runes, laid out as a
// double array so that a step costs one table load per rune plus one cell
// load. The matcher drives the normaliser rune by rune, skips noise
// between the characters of a term (up to a gap), collapses repeated
// characters, keeps Latin terms to whole words, and applies each term's
// allow-list and co-occurrence rule. Most of a text cannot end a term: a
// prefilter (skim.go) tests each rune against a bit set of the runes that
// may, and runs the automaton only over a bounded window before those
// that do. Find works on a whole text; a Stream does the same over chunks
// and says how much of the stream is already safe to release.
package lexicon

import (
	"fmt"
	"unicode/utf8"
	"unsafe"

	"github.com/firebreak/firebreak/safety/textnorm"
)

// Term is one entry of a lexicon.
type Term struct {
	ID     string   `json:"id,omitempty" yaml:"id,omitempty"`         // unique in the lexicon; default: Text
	Text   string   `json:"text" yaml:"text"`                         // the term as written
	Code   string   `json:"code,omitempty" yaml:"code,omitempty"`     // risk code (A1a … A5b)
	Action string   `json:"action,omitempty" yaml:"action,omitempty"` // action name; empty: the policy's default for the code
	Allow  []string `json:"allow,omitempty" yaml:"allow,omitempty"`   // a hit inside one of these phrases is not a hit
	Near   *Near    `json:"near,omitempty" yaml:"near,omitempty"`     // when set, a hit counts only near one of its phrases
	// Pinyin also matches the term's pinyin, whole or mixed with
	// characters ("dupin", "du品"). Chinese terms only.
	Pinyin bool `json:"pinyin,omitempty" yaml:"pinyin,omitempty"`
	// Initials also matches the pinyin initials ("flg"); noisy, so only
	// for terms of at least MinInitialsRunes Chinese characters.
	Initials bool `json:"initials,omitempty" yaml:"initials,omitempty"`
	// Numerals matches each digit of the term in any numeral form:
	// ASCII, ordinary (四) or financial (肆) Chinese.
	Numerals bool `json:"numerals,omitempty" yaml:"numerals,omitempty"`
}

// Near is a co-occurrence rule: a hit counts only when one of Phrases
// occurs within Within runes of it (before or after).
type Near struct {
	Phrases []string `json:"phrases" yaml:"phrases"`
	Within  int      `json:"within,omitempty" yaml:"within,omitempty"` // runes between the two; default 20, at most 1000
}

// Match is one hit of a term. Start and End are byte offsets into the
// original text, End exclusive, always on rune boundaries.
type Match struct {
	Term  int // index of the term in the lexicon (see Lexicon.Term)
	Start int
	End   int
}

// Limits of a term and of its derived forms.
const (
	MaxTermRunes     = 64 // folded, collapsed characters in one term or form
	MinInitialsRunes = 3
	defaultWithin    = 20
	maxWithin        = 1000
	defaultVariants  = 32
)

// Options configures a Lexicon. The zero value works.
type Options struct {
	Norm textnorm.Options // normalisation; zero: every fold on, gap 3
	// Pinyin, Initials and Numerals turn the Term flags of the same name
	// on for every term.
	Pinyin, Initials, Numerals bool
	// MaxForms bounds the forms (pinyin, numerals) derived from one term;
	// default 32.
	MaxForms int
	// NoSkim turns the prefilter (skim.go) off: the automaton runs over
	// every rune. For terms that are common words ("how to", "怎么"),
	// which end on most words of a text, the prefilter costs more than it
	// skips. Matches are the same either way. Default: on.
	NoSkim bool
}

// Lexicon is a compiled set of terms. It is immutable and safe for
// concurrent use.
type Lexicon struct {
	terms   []Term
	norm    *textnorm.Normaliser
	maxGap  int
	collect bool // collapse repeats

	pats    []pattern
	termAux []termAux
	// maxWithin is the largest Near.Within: how long a phrase hit is kept
	maxWithin int

	// composed rune → symbol tables (see the entry encoding in doublearray.go)
	bmp     []uint32
	multi   [][]uint32
	alpha   map[rune]uint32
	da      doubleArray
	shallow shallow // the prefilter of the scan's fast path (shallow.go)
	ends    ends    // the prefilter that skips text where no pattern ends (skim.go)
	maxSym  int
}

// termAux holds the resolved allow-list and near rule of a term.
type termAux struct {
	allow  []int32 // phrase ids
	near   []int32
	within int
}

// New compiles terms into a Lexicon. Errors name the offending term.
func New(terms []Term, opts Options) (*Lexicon, error) {
	n, err := textnorm.New(opts.Norm)
	if err != nil {
		return nil, fmt.Errorf("lexicon: %w", err)
	}
	if opts.MaxForms <= 0 {
		opts.MaxForms = defaultVariants
	}
	l := &Lexicon{terms: append([]Term(nil), terms...), norm: n, maxGap: n.MaxGap(), collect: n.Collapse()}
	b := newBuilder(l, opts)
	if err := b.addTerms(); err != nil {
		return nil, err
	}
	b.build()
	return l, nil
}

// Len is the number of terms.
func (l *Lexicon) Len() int { return len(l.terms) }

// Term returns the term with index i, as given to New.
func (l *Lexicon) Term(i int) Term { return l.terms[i] }

// Stats describes the size of a compiled lexicon.
type Stats struct {
	Terms, Patterns, States, Symbols int
	Bytes                            int // approximate memory of the automaton and tables
}

// Stats reports the lexicon's size.
func (l *Lexicon) Stats() Stats {
	st := Stats{Terms: len(l.terms), Patterns: len(l.pats), States: l.da.states, Symbols: l.maxSym}
	st.Bytes = len(l.da.cells)*int(unsafe.Sizeof(cell{})) + len(l.da.info)*int(unsafe.Sizeof(stateInfo{})) +
		len(l.da.outs)*int(unsafe.Sizeof(output{})) + len(l.bmp)*4 + len(l.pats)*int(unsafe.Sizeof(pattern{})) +
		len(l.shallow.root)*4 + len(l.shallow.pairs.bits)*8 + len(l.ends.flags) + len(l.ends.pairs.bits)*8 +
		len(l.ends.twos.bits)*8 + len(l.ends.triples.bits)*8 + len(l.ends.cands)*8
	return st
}

// Normaliser returns the normaliser the lexicon matches with.
func (l *Lexicon) Normaliser() *textnorm.Normaliser { return l.norm }

// Find returns every hit of every term in text, ordered by Start, then End,
// then term index.
func (l *Lexicon) Find(text string) []Match {
	var sc scanner
	sc.init(l)
	sc.out = make([]Match, 0, min(len(text)/128+4, 1024))
	sc.scan(text, false)
	sc.settle(true)
	sortMatches(sc.out)
	return sc.out
}

func validUTF8Tail(s string) int {
	// index where an incomplete trailing rune starts, or len(s)
	for i := len(s) - 1; i >= 0 && i >= len(s)-utf8.UTFMax; i-- {
		if utf8.RuneStart(s[i]) {
			if !utf8.FullRuneInString(s[i:]) {
				return i
			}
			return len(s)
		}
	}
	return len(s)
}
