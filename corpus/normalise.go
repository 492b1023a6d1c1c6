package corpus

import (
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// NormaliseConfig configures Unicode and whitespace normalisation.
type NormaliseConfig struct {
	Switch `yaml:",inline"`
	// Form is the Unicode normal form: "nfc" (default) or "nfkc". NFKC also
	// folds full-width letters and digits, but it turns Chinese full-width
	// punctuation into ASCII too.
	Form string `yaml:"form"`
}

func (c NormaliseConfig) validate() error {
	switch c.Form {
	case "", "nfc", "nfkc":
		return nil
	}
	return fmt.Errorf("stages.normalise.form %q: want nfc or nfkc", c.Form)
}

// normaliser is the normalisation stage: the Unicode form; invalid UTF-8,
// control, zero-width and other invisible format characters removed; line
// ends unified to \n; runs of spaces and tabs (and the ideographic space)
// collapsed to one space; spaces at line ends and more than one blank
// line in a row removed; the whole trimmed.
type normaliser struct {
	form   norm.Form
	stable *runeSet // runes that are normal in any context
}

func newNormaliser(c NormaliseConfig) *normaliser {
	if c.Form == "nfkc" {
		return &normaliser{form: norm.NFKC, stable: nfkcStable()}
	}
	return &normaliser{form: norm.NFC, stable: nfcStable()}
}

// runeSet is a set of runes of the Basic Multilingual Plane.
type runeSet [1 << 16 / 64]uint64

func (s *runeSet) has(r rune) bool { return r < 1<<16 && s[r/64]&(1<<(r%64)) != 0 }

// stableRunes is the set of BMP runes that a text of them alone is
// normal in form whatever their order: each is normal by itself, has
// canonical combining class 0 and never combines with the rune before it
// (Unicode's quick check answers YES). A text of such runes needs no
// further check.
func stableRunes(form norm.Form) *runeSet {
	var s runeSet
	for r := rune(0); r < 1<<16; r++ {
		if r >= 0xd800 && r <= 0xdfff {
			continue
		}
		c := string(r)
		if p := form.PropertiesString(c); p.CCC() == 0 && p.BoundaryBefore() && form.IsNormalString(c) {
			s[r/64] |= 1 << (r % 64)
		}
	}
	return &s
}

var (
	nfcStable  = sync.OnceValue(func() *runeSet { return stableRunes(norm.NFC) })
	nfkcStable = sync.OnceValue(func() *runeSet { return stableRunes(norm.NFKC) })
)

// settled reports, in one pass, text that apply leaves as it is: valid
// UTF-8 of runes stable in the form, already clean. It answers false
// for some texts apply does not change either; those take the slow path.
func (n *normaliser) settled(s string) bool { return cleanIn(s, n.stable) }

// isNormal reports whether s is in the normaliser's form, with a quick
// pass over runes that are stable in it (ASCII, Han, most punctuation)
// before the full check.
func (n *normaliser) isNormal(s string) bool {
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if !n.stable.has(r) {
			return n.form.IsNormalString(s)
		}
		i += size
	}
	return true
}

// apply returns the normalised text and the rule that changed it ("" when
// nothing changed).
func (n *normaliser) apply(s string) (string, string) {
	if n.settled(s) {
		return s, ""
	}
	out := s
	rule := ""
	if !utf8.ValidString(out) {
		out = strings.ToValidUTF8(out, "")
		rule = "invalid_utf8"
	}
	if !n.isNormal(out) {
		out = n.form.String(out)
		if rule == "" {
			rule = "unicode_form"
		}
	}
	if ws, changed := whitespace(out); changed {
		out = ws
		if rule == "" {
			rule = "whitespace"
		}
	}
	return out, rule
}

// whitespace does the whitespace and invisible-character part of
// normalisation in one pass; it returns s itself when nothing changes.
func whitespace(s string) (string, bool) {
	if clean(s) {
		return s, false
	}
	var b strings.Builder
	b.Grow(len(s))
	space, newlines := false, 0
	for _, r := range s {
		switch {
		case r == '\n':
			newlines++
			space = false
			continue
		case r == '\r':
			continue // \r\n and lone \r: the \n (if any) counts
		case r == ' ' || r == '\t' || r == '\u3000' || r == '\u00a0' || (unicode.IsSpace(r) && r != '\n'):
			space = true
			continue
		case invisible(r):
			continue
		}
		if b.Len() > 0 {
			if newlines > 0 {
				b.WriteString("\n\n"[:min(newlines, 2)])
			} else if space {
				b.WriteByte(' ')
			}
		}
		newlines, space = 0, false
		b.WriteRune(r)
	}
	out := b.String()
	return out, out != s
}

// clean reports whether s is already normal: no invisible characters,
// no spaces but single ASCII ones between other characters, single or
// double newlines, nothing at either end. s is valid UTF-8.
func clean(s string) bool { return cleanIn(s, nil) }

// cleanIn is clean, and with stable also that s is valid UTF-8 of runes
// in stable.
func cleanIn(s string, stable *runeSet) bool {
	if s == "" {
		return true
	}
	if s[0] == ' ' || s[0] == '\n' || s[len(s)-1] == ' ' || s[len(s)-1] == '\n' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if plainASCII[c] { // printable ASCII but the space: nothing to check
			continue
		}
		if c >= 0xe4 && c <= 0xe9 && hanAt(s, i) != 0 { // an ideograph, as below, without the call
			i += 2
			continue
		}
		switch {
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r >= 0x4e00 && r <= 0x9fff { // ideographs: stable in NFC and NFKC, not spaces
				i += size - 1
				continue
			}
			if stable != nil && (size == 1 || !stable.has(r)) {
				return false
			}
			if r == '\u3000' || r == '\u00a0' || unicode.IsSpace(r) || invisible(r) {
				return false
			}
			i += size - 1
		case c < ' ' && c != '\n', c == 0x7f:
			return false
		case c == ' ' && (s[i+1] == ' ' || s[i+1] == '\n'), c == '\n' && s[i+1] == ' ':
			return false
		case c == '\n' && i+2 < len(s) && s[i+1] == '\n' && s[i+2] == '\n':
			return false
		}
	}
	return true
}

// plainASCII marks the printable ASCII characters but the space.
var plainASCII = func() (t [256]bool) {
	for c := '!'; c <= '~'; c++ {
		t[c] = true
	}
	return t
}()

// invisible reports control and format characters that carry no text:
// C0/C1 controls, zero-width characters, bidi controls, the BOM, soft
// hyphens, variation selectors.
func invisible(r rune) bool {
	switch {
	case r < ' ', r >= 0x7f && r < 0xa0:
		return true
	case r == 0xad, r >= 0x200b && r <= 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2060 && r <= 0x206f,
		r == 0xfeff, r >= 0xfe00 && r <= 0xfe0f:
		return true
	}
	return false
}
