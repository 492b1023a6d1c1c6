package corpus

import (
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// FuzzNormaliseQuickChecks holds the normaliser's quick checks to the
// slow paths they skip: isNormal must agree with x/text's check for both
// forms, a text that clean accepts must come out of whitespace unchanged,
// and one that settled accepts must be normal and clean.
func FuzzNormaliseQuickChecks(f *testing.F) {
	for _, s := range []string{"", "a b", "中文，标点。\n\n下一段", "e\u0301", "ｆｕｌｌ", "가\u11a8", "\u3000x", "a\u200bb",
		"カ\u3099", "x\u302a", "tab\tx", "a  b", "a\n\n\nb", " a", "a\n", "é", "Å", "\u2126", "\ufb01", "①"} {
		f.Add(s)
	}
	nfc, nfkc := newNormaliser(NormaliseConfig{}), newNormaliser(NormaliseConfig{Form: "nfkc"})
	f.Fuzz(func(t *testing.T, s string) {
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
