// Package textnorm folds text into the canonical form that safety lexicons
// are matched against, so that the usual evasions (full-width letters,
// traditional characters, look-alike Cyrillic, zero-width characters,
// circled digits …) do not hide a term.
//
// It is a rune-at-a-time transducer: Fold maps one rune of the original text
// to its class and to the runes it stands for, from precomputed tables. A
// matcher drives it directly and keeps its own byte offsets, so every
// position of the folded text maps back to the original. Noise skipping and
// the collapse of repeated characters are left to the matcher, because they
// depend on the term being matched.
//
// What folds, in order: Unicode compatibility (NFKC: full-width, circled and
// parenthesised forms, ligatures, mathematical letters), marks on Latin,
// Greek, Cyrillic and Armenian letters, letter symbols NFKC leaves alone
// (🅱, 🅑), look-alike letters (Cyrillic, Greek,
// Armenian, Coptic, Cherokee, small capitals, stroked letters → Latin), case, traditional → simplified
// Chinese (OpenCC's character table), and digit variants (①, ⑸, ❶, ⓿,
// digits of other scripts → ASCII digits). Chinese numerals (一, 二, 肆 …)
// are not folded here: in ordinary words they are letters, and folding them
// would make "64位" look like "六四". A lexicon folds numerals per term
// instead (see package lexicon).
package textnorm

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Class says what a rune is to the matcher.
type Class uint8

const (
	// Letter runes are matched: letters, digits, CJK characters.
	Letter Class = iota
	// Noise runes (spaces, punctuation, symbols, emoji) may sit between the
	// characters of a term, up to the matcher's gap.
	Noise
	// Break runes (line breaks, the ideographic full stop) end any term in
	// progress when Options.BreaksEndTerms is set; otherwise they are
	// Noise, like the other punctuation between a term's characters.
	Break
	// Ignore runes are invisible (zero-width, bidi controls, variation
	// selectors, tags, combining marks) and are skipped without counting.
	Ignore
)

func (c Class) String() string {
	switch c {
	case Letter:
		return "letter"
	case Noise:
		return "noise"
	case Break:
		return "break"
	case Ignore:
		return "ignore"
	}
	return fmt.Sprintf("class(%d)", int(c))
}

// DefaultMaxGap is the number of noise runes allowed between two characters
// of a term when Options.MaxGap is zero.
const DefaultMaxGap = 3

// Options configures a Normaliser. The zero value is the recommended
// configuration: every fold on, a gap of DefaultMaxGap.
type Options struct {
	// MaxGap is how many noise runes may separate two characters of a term
	// ("毒 品", "b.o.m.b"). Zero means DefaultMaxGap; negative means none.
	MaxGap int `json:"max_gap,omitempty" yaml:"max_gap,omitempty"`
	// KeepTraditional turns off the traditional → simplified fold.
	KeepTraditional bool `json:"keep_traditional,omitempty" yaml:"keep_traditional,omitempty"`
	// KeepLookalikes turns off the Cyrillic/Greek → Latin look-alike fold.
	KeepLookalikes bool `json:"keep_lookalikes,omitempty" yaml:"keep_lookalikes,omitempty"`
	// NoCollapse turns off the collapse of repeated characters ("炸炸弹").
	NoCollapse bool `json:"no_collapse,omitempty" yaml:"no_collapse,omitempty"`
	// BreaksEndTerms makes line breaks and the ideographic full stop end
	// a term in progress, as sentence boundaries. By default they are
	// noise within the gap, so a term split over lines ("meth\nrecipe")
	// or over the parts of a message is still found; a CR LF pair counts
	// as one rune of the gap.
	BreaksEndTerms bool `json:"breaks_end_terms,omitempty" yaml:"breaks_end_terms,omitempty"`
}

// Normaliser folds runes by the tables built for its options. It is
// immutable and safe for concurrent use.
type Normaliser struct {
	opts   Options
	maxGap int
	tab    *table
}

// New returns a Normaliser for opts. Normalisers with the default folds
// share one table, built on first use.
func New(opts Options) (*Normaliser, error) {
	gap := opts.MaxGap
	switch {
	case gap == 0:
		gap = DefaultMaxGap
	case gap < 0:
		gap = 0
	case gap > 64:
		return nil, fmt.Errorf("max gap %d: must be at most 64", gap)
	}
	return &Normaliser{opts: opts, maxGap: gap, tab: tableFor(opts)}, nil
}

// MaxGap is the number of noise runes allowed inside a term.
func (n *Normaliser) MaxGap() int { return n.maxGap }

// Collapse reports whether repeated characters collapse.
func (n *Normaliser) Collapse() bool { return !n.opts.NoCollapse }

// AppendFold returns the class of r and, for a Letter, appends the runes
// it folds to: usually one, several for a ligature or a two-digit circled
// number. It does not allocate when dst has room.
func (n *Normaliser) AppendFold(dst []rune, r rune) (Class, []rune) {
	cls, out := n.tab.appendFold(dst, r)
	if cls == Break {
		cls = n.breakClass(r)
	}
	return cls, out
}

// breakClass is the class of a line-breaking rune r under the options.
func (n *Normaliser) breakClass(r rune) Class {
	switch {
	case n.opts.BreaksEndTerms:
		return Break
	case r == '\r':
		return Ignore
	}
	return Noise
}

// Class returns the class of r, the one AppendFold returns, without
// folding it: for a counter of letters and noise runs, one table look-up.
func (n *Normaliser) Class(r rune) Class {
	cls := Class(n.tab.entry(r) >> classShift)
	if cls == Break {
		cls = n.breakClass(r)
	}
	return cls
}

// Normalise folds s as the matcher sees it: letters folded, noise kept
// (in its compatibility form), invisible runes dropped. Repeats are not
// collapsed and noise is not removed, so the result stays readable.
// Normalise is idempotent.
func (n *Normaliser) Normalise(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	var buf [16]rune
	for _, r := range s {
		cls, out := n.tab.appendFold(buf[:0], r)
		switch cls {
		case Letter:
			for _, x := range out {
				b.WriteRune(x)
			}
		case Noise, Break:
			b.WriteString(n.tab.noiseForm(r))
		}
	}
	return b.String()
}

// Letters returns the folded letters of s with all noise and invisible runes
// removed: the form a lexicon term is compiled into.
func (n *Normaliser) Letters(s string) string {
	var b strings.Builder
	var buf [16]rune
	for _, r := range s {
		if cls, out := n.tab.appendFold(buf[:0], r); cls == Letter {
			for _, x := range out {
				b.WriteRune(x)
			}
		}
	}
	return b.String()
}

// IsWordRune reports whether a folded rune takes part in word boundaries:
// ASCII letters and digits. Latin terms match whole words only, so "ass"
// is not found in "class".
func IsWordRune(r rune) bool {
	return r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r >= 'A' && r <= 'Z')
}
