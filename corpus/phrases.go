package corpus

import (
	"strings"
	"unicode/utf8"
)

// phraseSet counts occurrences of a few phrases in one pass over a text:
// a rune that starts no phrase costs a bit test, so many phrases cost
// about as much as one.
type phraseSet struct {
	first  [1 << 16 / 64]uint64 // first runes (BMP) of the phrases
	byRune map[rune][]string
}

func newPhraseSet(phrases []string) *phraseSet {
	p := &phraseSet{byRune: map[rune][]string{}}
	for _, ph := range phrases {
		r, _ := utf8.DecodeRuneInString(ph)
		if r >= 1<<16 {
			panic("corpus: phrase outside the BMP: " + ph)
		}
		p.first[r/64] |= 1 << (r % 64)
		p.byRune[r] = append(p.byRune[r], ph)
	}
	return p
}

// count returns the number of phrase occurrences in s (overlaps of
// different phrases each count).
func (p *phraseSet) count(s string) int {
	n := 0
	for i := 0; i < len(s); {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		if r < 1<<16 && p.first[r/64]&(1<<(r%64)) != 0 {
			for _, ph := range p.byRune[r] {
				if strings.HasPrefix(s[i:], ph) {
					n++
				}
			}
		}
		i += size
	}
	return n
}
