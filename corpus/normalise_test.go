package corpus

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// FuzzNormaliseQuickChecks holds the normaliser's quick checks to the
// slow paths they skip: cleanIn must answer as refCleanIn for any bytes, isNormal must agree with x/text's check for both
// forms, a text that clean accepts must come out of whitespace unchanged,
// and one that settled accepts must be normal and clean.
func FuzzNormaliseQuickChecks(f *testing.F) {
	for _, s := range []string{"", "a b", "中文，标点。\n\n下一段", "e\u0301", "ｆｕｌｌ", "가\u11a8", "\u3000x", "a\u200bb",
		"カ\u3099", "x\u302a", "tab\tx", "a  b", "a\n\n\nb", " a", "a\n", "é", "Å", "\u2126", "\ufb01", "①"} {
		f.Add(s)
	}
	nfc, nfkc := newNormaliser(NormaliseConfig{}), newNormaliser(NormaliseConfig{Form: "nfkc"})
	f.Fuzz(func(t *testing.T, s string) {
		for _, set := range []*runeSet{nil, nfc.stable, nfkc.stable} { // any bytes, as a text line can hold
			if got, want := cleanIn(s, set), refCleanIn(s, set); got != want {
				t.Errorf("cleanIn(%+q) = %v, the plain loop says %v", s, got, want)
			}
		}
		if !utf8.ValidString(s) {
			s = strings.ToValidUTF8(s, "")
		}
		for _, n := range []*normaliser{nfc, nfkc} {
			if got, want := n.isNormal(s), n.form.IsNormalString(s); got != want {
				t.Errorf("isNormal(%+q) = %v, x/text says %v", s, got, want)
			}
		}
		if out, _ := whitespace(s); clean(s) && out != s {
			t.Errorf("clean(%+q) but whitespace makes %+q", s, out)
		}
		for _, n := range []*normaliser{nfc, nfkc} {
			if !n.settled(s) {
				continue
			}
			if !n.form.IsNormalString(s) || !clean(s) {
				t.Errorf("settled(%+q), but normal %v, clean %v", s, n.form.IsNormalString(s), clean(s))
			}
		}
	})
}

// TestStableRunes checks the quick check's sets on runes whose class is
// known: stable ones in the set, combining and decomposing ones not.
func TestStableRunes(t *testing.T) {
	nfc, nfkc := nfcStable(), nfkcStable()
	for _, r := range []rune{'中', '，', '。', '“', 'é', '—', '…', 'ア', '가'} {
		if !nfc.has(r) {
			t.Errorf("%q not NFC-stable", r)
		}
	}
	for _, r := range []rune{'\u0301', '\u3099', '\u302a', '\u11a8', '\u2126', '\uf900', 'ｆ' /* stable in NFC only */} {
		if nfc.has(r) && r != 'ｆ' || nfkc.has(r) {
			t.Errorf("%q wrongly stable", r)
		}
	}
	if !nfc.has('ｆ') || nfkc.has('①') {
		t.Error("NFC must keep full-width letters, NFKC not")
	}
	if got := norm.NFC.String("e\u0301"); got != "é" {
		t.Fatalf("x/text NFC: %q", got)
	}
}

// refCleanIn is cleanIn with every non-ASCII rune decoded by the
// library: cleanIn, with its inline skips, is held to it.
func refCleanIn(s string, stable *runeSet) bool {
	if s == "" {
		return true
	}
	if s[0] == ' ' || s[0] == '\n' || s[len(s)-1] == ' ' || s[len(s)-1] == '\n' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
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
