package lexicon

import (
	"strings"
	"testing"

	"github.com/firebreak/firebreak/safety/textnorm"
)

// testTerms is a small lexicon exercising every feature.
func testTerms() []Term {
	return []Term{
		{ID: "drugs", Text: "毒品", Code: "A1h", Pinyin: true},
		{ID: "bomb-zh", Text: "炸弹", Code: "A1d", Allow: []string{"炸弹面包", "爆炸弹性"}},
		{ID: "bomb-en", Text: "bomb", Code: "A1d", Allow: []string{"photo bomb", "bath bomb"}},
		{ID: "haha", Text: "哈哈", Code: "A4c"},
		{ID: "cc", Text: "cc", Code: "A4c"},
		{ID: "sixfour", Text: "六四", Code: "A1a", Numerals: true},
		{ID: "gun", Text: "枪", Code: "A1f", Near: &Near{Phrases: []string{"买", "buy"}, Within: 6}},
		{ID: "flg", Text: "法轮功", Code: "A1d", Initials: true},
		{ID: "ass", Text: "ass", Code: "A2i"},
		{ID: "trad", Text: "发票", Code: "A3e"},
		{ID: "kill", Text: "kill yourself", Code: "A4a"},
	}
}

func mustLexicon(t testing.TB, terms []Term, opts Options) *Lexicon {
	t.Helper()
	l, err := New(terms, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return l
}

// found renders matches as "id@text" for readable comparisons.
func found(l *Lexicon, text string, ms []Match) string {
	var parts []string
	for _, m := range ms {
		parts = append(parts, l.Term(m.Term).ID+"@"+text[m.Start:m.End])
	}
	return strings.Join(parts, " ")
}

func TestFindEvasions(t *testing.T) {
	l := mustLexicon(t, testTerms(), Options{})
	tests := []struct{ name, text, want string }{
		{"plain zh", "哪里有毒品", "drugs@毒品"},
		{"plain en", "make a bomb now", "bomb-en@bomb"},
		{"space zh", "毒 品", "drugs@毒 品"},
		{"symbol zh", "毒*品", "drugs@毒*品"},
		{"dots en", "b.o.m.b", "bomb-en@b.o.m.b"},
		{"emoji between", "毒🌿品", "drugs@毒🌿品"},
		{"zero width", "毒\u200b品", "drugs@毒\u200b品"},
		{"bidi and soft hyphen", "bo\u202emb and bo\u00admb", "bomb-en@bo\u202emb bomb-en@bo\u00admb"},
		{"full width en", "ＢＯＭＢ", "bomb-en@ＢＯＭＢ"},
		{"upper case", "BoMb", "bomb-en@BoMb"},
		{"cyrillic lookalike", "bоmb", "bomb-en@bоmb"},
		{"greek lookalike", "bοmb", "bomb-en@bοmb"},
		{"math letters", "𝐛𝐨𝐦𝐛", "bomb-en@𝐛𝐨𝐦𝐛"},
		{"circled letters", "ⓑⓞⓜⓑ", "bomb-en@ⓑⓞⓜⓑ"},
		{"traditional", "發票", "trad@發票"},
		{"repeat zh", "炸炸炸弹", "bomb-zh@炸炸炸弹"},
		{"repeat en", "boooomb", "bomb-en@boooomb"},
		{"term repeat kept", "哈哈哈", "haha@哈哈"},
		{"term cc", "cc", "cc@cc"},
		{"pinyin", "dupin", "drugs@dupin"},
		{"pinyin spaced", "du pin", "drugs@du pin"},
		{"pinyin mixed", "du品", "drugs@du品"},
		{"initials", "flg", "flg@flg"},
		{"numerals financial", "陆肆", "sixfour@陆肆"},
		{"numerals digits", "6 4", "sixfour@6 4"},
		{"numerals circled", "⑥④", "sixfour@⑥④"},
		{"near before", "我想买一把枪", "gun@枪"},
		{"near after", "枪去哪里buy", "gun@枪"},
		{"phrase with space", "kill  yourself", "kill@kill  yourself"},
		{"two terms", "毒品和炸弹", "drugs@毒品 bomb-zh@炸弹"},
		// Line breaks and sentence punctuation are noise within the gap.
		{"line break zh", "毒\n品", "drugs@毒\n品"},
		{"crlf zh", "毒\r\n品", "drugs@毒\r\n品"},
		{"two line breaks zh", "毒\n\n品", "drugs@毒\n\n品"},
		{"full stop zh", "毒。品", "drugs@毒。品"},
		{"full stop and break zh", "毒。\n品", "drugs@毒。\n品"},
		{"exclamation zh", "毒！品", "drugs@毒！品"},
		{"paragraph separator zh", "毒\u2029品", "drugs@毒\u2029品"},
		{"line break en", "kill\nyourself", "kill@kill\nyourself"},
		{"sentence end en", "kill. yourself", "kill@kill. yourself"},
		{"crlf en", "kill\r\n\r\nyourself", "kill@kill\r\n\r\nyourself"},
		{"letters on lines en", "b\no\nm\nb", "bomb-en@b\no\nm\nb"},
		{"question mark en", "bo?mb", "bomb-en@bo?mb"},
		// Letters as a reader reads them: marks, letter symbols, look-alikes.
		{"precomposed accent", "bómb", "bomb-en@bómb"},
		{"precomposed diaeresis", "BÖMB", "bomb-en@BÖMB"},
		{"combining accent", "bo\u0301mb", "bomb-en@bo\u0301mb"},
		{"pinyin tone marks", "dú pǐn", "drugs@dú pǐn"},
		{"pinyin tone numbers", "du2 pin3", "drugs@du2 pin3"},
		{"negative squared letters", "🅱🅾🅼🅱", "bomb-en@🅱🅾🅼🅱"},
		{"negative circled letters", "🅑🅞🅜🅑", "bomb-en@🅑🅞🅜🅑"},
		{"flag between", "毒🇨🇳品", "drugs@毒🇨🇳品"},
		{"stroke letter", "bømb", "bomb-en@bømb"},
		{"armenian lookalike", "bօmb", "bomb-en@bօmb"},
		{"coptic lookalike", "bⲟmb", "bomb-en@bⲟmb"},
		{"cherokee lookalikes", "ᏴOᎷᏴ", "bomb-en@ᏴOᎷᏴ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := found(l, tt.text, l.Find(tt.text)); got != tt.want {
				t.Errorf("Find(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestFindBenign(t *testing.T) {
	l := mustLexicon(t, testTerms(), Options{})
	tests := []struct{ name, text string }{
		{"inside english word", "bombastic speech"},
		{"prefix of word", "abomb"},
		{"ass in class", "a class assignment"},
		{"allow phrase zh", "炸弹面包很好吃"},
		{"allow phrase en", "a photo bomb, a bath bomb"},
		{"allow phrase spaced", "炸 弹 面 包"},
		{"single ha", "哈，好的"},
		{"single c", "c"},
		{"gap too long", "毒，，，，品"},
		{"line breaks past the gap", "毒\n\n\n\n品"},
		{"sentence end past the gap", "kill.\n\n\n yourself"},
		{"near too far", "我想买很多很多很多很多东西，枪"},
		{"no near phrase", "枪很好"},
		{"numerals off elsewhere", "炸药六个四"},
		{"digits not numerals", "64位系统"},
		{"lowercase cyrillic", "вомб"},
		{"accents in other words", "café naïve bombé façade"},
		{"flags beside words", "🇺🇸 bombastic 🇫🇷"},
		{"flags are no letters", "🇧🇴🇲🇧"},
		{"initials need three", "dp"},
	}
	// numerals: "六四" may match "64"; that is what the flag is for, so
	// check the digit case against a lexicon without it.
	plain := testTerms()
	plain[5].Numerals = false
	lp := mustLexicon(t, plain, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lx := l
			if tt.name == "digits not numerals" {
				lx = lp
			}
			if got := lx.Find(tt.text); len(got) != 0 {
				t.Errorf("Find(%q) = %q, want nothing", tt.text, found(lx, tt.text, got))
			}
		})
	}
}

// TestBreaksEndTerms: a policy that treats line breaks and the ideographic
// full stop as sentence boundaries finds no term across them.
func TestBreaksEndTerms(t *testing.T) {
	l := mustLexicon(t, testTerms(), Options{Norm: textnorm.Options{BreaksEndTerms: true}})
	for _, text := range []string{"毒\n品", "中毒。品尝", "kill\nyourself", "kill\r\nyourself", "b\no\nm\nb"} {
		if got := l.Find(text); len(got) != 0 {
			t.Errorf("Find(%q) = %q, want nothing", text, found(l, text, got))
		}
	}
	if got := found(l, "毒，品", l.Find("毒，品")); got != "drugs@毒，品" {
		t.Errorf("a comma still is noise: got %q", got)
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name  string
		terms []Term
		want  string
	}{
		{"empty", []Term{{Text: "  "}}, "nothing to match"},
		{"only noise", []Term{{Text: "!!"}}, "nothing to match"},
		{"duplicate id", []Term{{Text: "a"}, {Text: "a"}}, "same id"},
		{"too long", []Term{{Text: strings.Repeat("ab", 40)}}, "at most 64"},
		{"near without phrases", []Term{{Text: "枪", Near: &Near{}}}, "no phrases"},
		{"near too wide", []Term{{Text: "枪", Near: &Near{Phrases: []string{"买"}, Within: 5000}}}, "within"},
		{"bad allow", []Term{{Text: "枪", Allow: []string{"。"}}}, "allow phrase"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.terms, Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestOffsetsOnRuneBoundaries(t *testing.T) {
	l := mustLexicon(t, testTerms(), Options{})
	text := "ｘ毒\u200d品ﬁ发票炸炸弹\xff\xfebomb"
	for _, m := range l.Find(text) {
		if m.Start < 0 || m.End > len(text) || m.Start >= m.End {
			t.Fatalf("match %+v out of range", m)
		}
		if !isRuneStart(text, m.Start) || !isRuneStart(text, m.End) {
			t.Errorf("match %+v not on rune boundaries", m)
		}
	}
}

// isRuneStart reports whether i is a rune boundary of s as Go decodes it:
// an invalid byte is a rune of its own.
func isRuneStart(s string, i int) bool {
	if i == len(s) {
		return true
	}
	for j := range s {
		if j == i {
			return true
		}
		if j > i {
			break
		}
	}
	return false
}
