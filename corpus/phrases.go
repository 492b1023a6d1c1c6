package corpus

import (
	"strings"
	"unicode/utf8"
)

// phraseSet counts occurrences of a few groups of phrases, rune by rune
// in a pass over a text that another job already makes (the tokeniser's):
// a rune that starts no phrase costs a bit test, so many phrases cost
// about as much as one. Overlaps of different phrases each count.
type phraseSet struct {
	first  [1 << 16 / 64]uint64 // first runes (BMP) of the phrases
	byRune map[rune][]phrase
}

type phrase struct {
	text  string
	group int
}

// maxPhraseGroups is the most groups a phraseSet counts apart.
const maxPhraseGroups = 2

func newPhraseSet(groups ...[]string) *phraseSet {
	if len(groups) > maxPhraseGroups {
		panic("corpus: too many phrase groups")
	}
	p := &phraseSet{byRune: map[rune][]phrase{}}
	for g, phrases := range groups {
		for _, ph := range phrases {
			r, _ := utf8.DecodeRuneInString(ph)
			if r >= 1<<16 {
				panic("corpus: phrase outside the BMP: " + ph)
			}
			p.first[r/64] |= 1 << (r % 64)
			p.byRune[r] = append(p.byRune[r], phrase{ph, g})
		}
	}
	return p
}

// countAt counts the phrases that start s, whose first rune is r.
func (p *phraseSet) countAt(s string, r rune, n *[maxPhraseGroups]int) {
	if r >= 1<<16 || p.first[r/64]&(1<<(r%64)) == 0 {
		return
	}
	for _, ph := range p.byRune[r] {
		if strings.HasPrefix(s, ph.text) {
			n[ph.group]++
		}
	}
}
