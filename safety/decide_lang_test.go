package safety

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"
)

// mostlyChineseRef is mostlyChinese by the Unicode tables alone: at
// least as many Han characters as other letters.
func mostlyChineseRef(text string) bool {
	han, other := 0, 0
	for _, r := range text {
		if unicode.Is(unicode.Han, r) {
			han++
		} else if unicode.IsLetter(r) {
			other++
		}
	}
	return han+other > 0 && han >= other
}

// TestMostlyChineseFastPaths holds the ASCII and CJK-block shortcuts to
// the tables: every rune against one Latin letter and one Han character,
// where a misjudged rune tips the balance, and random mixed text.
func TestMostlyChineseFastPaths(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		for _, s := range []string{string(r) + "a", string(r) + "中"} {
			if got, want := mostlyChinese(s), mostlyChineseRef(s); got != want {
				t.Fatalf("mostlyChinese(%q) = %v, want %v", s, got, want)
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 1))
	pool := []rune("aZ9 .中文字龘鿿一〇㐀𠀀ÉéЖж한글かなカナ!？，")
	for range 2000 {
		var b strings.Builder
		for range 1 + rng.IntN(12) {
			b.WriteRune(pool[rng.IntN(len(pool))])
		}
		if s := b.String(); mostlyChinese(s) != mostlyChineseRef(s) {
			t.Fatalf("mostlyChinese(%q) = %v, want %v", s, mostlyChinese(s), mostlyChineseRef(s))
		}
	}
}
