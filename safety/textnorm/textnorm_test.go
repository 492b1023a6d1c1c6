package textnorm

import (
	"testing"
	"unicode/utf8"
)

func mustNew(t testing.TB, o Options) *Normaliser {
	t.Helper()
	n, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return n
}

func TestLetters(t *testing.T) {
	n := mustNew(t, Options{})
	tests := []struct{ name, in, want string }{
		{"full width", "ＡＢＣ１２３", "abc123"},
		{"case", "BoMb", "bomb"},
		{"ligature", "ﬁre", "fire"},
		{"sharp s", "Straße", "strasse"},
		{"circled digits", "①⑸⓿❶⒓", "150112"},
		{"circled letters", "ⓑⓞⓜⓑ", "bomb"},
		{"parenthesised hanzi", "㈠㈣", "一四"},
		{"math bold", "𝐁𝐎𝐌𝐁", "bomb"},
		{"other script digits", "٣٤", "34"},
		{"traditional", "發財樂園", "发财乐园"},
		{"cyrillic lookalikes", "Ѕех", "sex"},
		{"greek lookalikes", "ΒΟΜΒ", "bomb"},
		{"small capitals", "ʙᴏᴍʙ", "bomb"},
		{"lowercase cyrillic ve is no lookalike", "вот", "вoт"},
		{"zero width", "毒\u200b\u200c\u200d\ufeff品", "毒品"},
		{"bidi and tags", "a\u202eb\U000E0041c", "abc"},
		{"variation selector", "炸\ufe0f弹", "炸弹"},
		{"noise dropped", "毒 * 品!", "毒品"},
		{"chinese numerals stay", "二肆", "二肆"},
		{"japanese kana stay", "ばくだん", "ばくだん"},
		// A mark written apart is invisible, so a letter written with it
		// precomposed reads as its base letter too.
		{"precomposed marks", "bómb BÖMB bȯmb", "bombbombbomb"},
		{"decomposed marks", "bo\u0301mb", "bomb"},
		{"pinyin tone marks", "dú pǐn lǜ", "dupinlu"},
		{"greek and cyrillic marks", "ΒΌΜΒ ёж", "bombeж"},
		{"japanese voiced kana keep their mark", "ば", "ば"},
		{"hangul stays composed", "폭탄", "폭탄"},
		{"negative circled letters", "🅑🅞🅜🅑", "bomb"},
		{"negative squared letters", "🅱🅾🅼🅱", "bomb"},
		{"regional indicators are flags", "毒🇨🇳品", "毒品"},
		{"stroke and hook letters", "bømb ƀoɱƀ", "bombbomb"},
		{"armenian coptic cherokee lookalikes", "bօmb bⲟmb ᏴOᎷᏴ", "bombbombbomb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := n.Letters(tt.in); got != tt.want {
				t.Errorf("Letters(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestClasses(t *testing.T) {
	n := mustNew(t, Options{})
	tests := []struct {
		r    rune
		want Class
	}{
		{'a', Letter}, {'毒', Letter}, {'7', Letter}, {' ', Noise}, {'*', Noise}, {'，', Noise},
		{'🌿', Noise}, {'\t', Noise}, {'\n', Noise}, {'。', Noise}, {'\u2028', Noise}, {'\r', Ignore},
		{'\u200b', Ignore}, {'\u00ad', Ignore}, {'\u202e', Ignore}, {'\ufe0f', Ignore},
		{'\u0301', Ignore}, {'\U000E0020', Ignore}, {'\u3164', Ignore}, {utf8.RuneError, Noise},
	}
	for _, tt := range tests {
		t.Run(string(tt.r), func(t *testing.T) {
			if got, _ := n.AppendFold(nil, tt.r); got != tt.want {
				t.Errorf("class of %U = %v, want %v", tt.r, got, tt.want)
			}
		})
	}
}

// TestBreaksEndTerms: with the option, line breaks and the ideographic
// full stop are sentence boundaries again.
func TestBreaksEndTerms(t *testing.T) {
	n := mustNew(t, Options{BreaksEndTerms: true})
	for _, r := range []rune{'\n', '\r', '\v', '\f', 0x85, 0x2028, 0x2029, '。'} {
		if got, _ := n.AppendFold(nil, r); got != Break {
			t.Errorf("class of %U = %v, want break", r, got)
		}
	}
	if got, _ := n.AppendFold(nil, '.'); got != Noise {
		t.Errorf("class of '.' = %v, want noise", got)
	}
}

func TestOptions(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		in   string
		want string
	}{
		{"keep traditional", Options{KeepTraditional: true}, "發", "發"},
		{"keep lookalikes", Options{KeepLookalikes: true}, "Ѕ", "ѕ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mustNew(t, tt.o).Letters(tt.in); got != tt.want {
				t.Errorf("Letters(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	if _, err := New(Options{MaxGap: 100}); err == nil {
		t.Error("New accepted a gap of 100")
	}
	if g := mustNew(t, Options{MaxGap: -1}).MaxGap(); g != 0 {
		t.Errorf("MaxGap with -1 = %d, want 0", g)
	}
}

// Every rune's fold is stable: folding the folded runes changes nothing.
func TestFoldIdempotentAllRunes(t *testing.T) {
	n := mustNew(t, Options{})
	var a, b [32]rune
	for r := rune(0); r <= 0x3FFFF; r++ {
		cls, out := n.AppendFold(a[:0], r)
		if cls != Letter {
			continue
		}
		for _, x := range out {
			c2, again := n.AppendFold(b[:0], x)
			if c2 != Letter || len(again) != 1 || again[0] != x {
				t.Fatalf("%U folds to %q, which folds to %v %q", r, string(out), c2, string(again))
			}
		}
	}
}

func FuzzNormalise(f *testing.F) {
	for _, s := range []string{"ＡＢＣ", "發票", "毒\u200b品", "①⑸", "΅", "ﬁ", "\xff", "Ѕех"} {
		f.Add(s)
	}
	n := mustNew(f, Options{})
	f.Fuzz(func(t *testing.T, s string) {
		once := n.Normalise(s)
		if twice := n.Normalise(once); twice != once {
			t.Fatalf("Normalise not idempotent: %q → %q → %q", s, once, twice)
		}
		l := n.Letters(s)
		if l2 := n.Letters(l); l2 != l {
			t.Fatalf("Letters not idempotent: %q → %q → %q", s, l, l2)
		}
	})
}

func BenchmarkFold(b *testing.B) {
	n := mustNew(b, Options{})
	text := []rune("混合文本 Mixed TEXT with 全角ＡＢＣ and 發票 ① ⑸ 🌿")
	var buf [8]rune
	b.SetBytes(int64(len(string(text))))
	for b.Loop() {
		for _, r := range text {
			n.AppendFold(buf[:0], r)
		}
	}
}

// TestClassAllRunes checks Class against AppendFold for every rune (and
// past the last) under each option that changes a class.
func TestClassAllRunes(t *testing.T) {
	for _, o := range []Options{{}, {BreaksEndTerms: true}, {KeepTraditional: true, KeepLookalikes: true}} {
		n := mustNew(t, o)
		var buf [16]rune
		for r := rune(-1); r <= utf8.MaxRune+1; r++ {
			want, _ := n.AppendFold(buf[:0], r)
			if got := n.Class(r); got != want {
				t.Fatalf("%+v: Class(%U) = %v, AppendFold says %v", o, r, got, want)
			}
		}
	}
}
