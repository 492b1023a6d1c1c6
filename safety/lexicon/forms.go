package lexicon

import (
	"unicode"

	"github.com/mozillazg/go-pinyin"
)

// forms returns the folded letters of every form of a term: the term
// itself first, then its pinyin (plain, then with tone numbers) and numeral
// forms, at most opts.MaxForms.
//
// Each character position has alternatives (the character, its pinyin
// readings, its numeral forms); the forms are the combinations, taken in a
// fixed order — the term, all-pinyin, all-initials, then the mixed ones —
// until the bound.
func (b *builder) forms(t *Term) ([][]rune, error) {
	n := b.l.norm
	// The term's own letters go to scratch space: addPattern copies them,
	// so most terms cost no allocation here.
	base := b.letters(b.scratch[:0], t.Text)
	b.scratch = base
	out := append(b.formBuf[:0], base)
	b.formBuf = out
	usePinyin := t.Pinyin || b.opts.Pinyin
	useInitials := t.Initials || b.opts.Initials
	useNumerals := t.Numerals || b.opts.Numerals
	if !usePinyin && !useInitials && !useNumerals {
		return out, nil
	}
	alts := make([][]string, len(base))
	hans := 0
	for i, r := range base {
		alts[i] = []string{string(r)}
		if useNumerals {
			alts[i] = append(alts[i], numeralForms(r)...)
		}
		if unicode.Is(unicode.Han, r) {
			hans++
		}
	}
	seen := map[string]bool{string(base): true}
	add := func(parts []string) {
		if len(out) >= b.opts.MaxForms {
			return
		}
		s := ""
		for _, p := range parts {
			s += p
		}
		if !seen[s] {
			seen[s] = true
			out = append(out, []rune(n.Letters(s)))
		}
	}
	if usePinyin && hans > 0 {
		readings := pinyinOf(base, pinyin.Normal)
		add(firstOf(readings))
		// Tones written as numbers ("du2 pin3") read as the same word;
		// tone marks ("dú pǐn") fold to the plain form.
		add(firstOf(pinyinOf(base, pinyin.Tone3)))
		for i := range alts {
			alts[i] = append(alts[i], readings[i]...)
		}
	}
	if useInitials && hans >= MinInitialsRunes {
		add(firstOf(pinyinOf(base, pinyin.FirstLetter)))
	}
	product(alts, add, b.opts.MaxForms*4)
	return out, nil
}

// letters appends the folded letters of s to dst, as Normaliser.Letters
// returns them.
func (b *builder) letters(dst []rune, s string) []rune {
	for _, r := range s {
		_, dst = b.l.norm.AppendFold(dst, r) // only a Letter appends
	}
	return dst
}

func pinyinOf(runes []rune, style int) [][]string {
	a := pinyin.NewArgs()
	a.Style = style
	a.Heteronym = true
	out := make([][]string, len(runes))
	for i, r := range runes {
		if unicode.Is(unicode.Han, r) {
			out[i] = dedupe(pinyin.SinglePinyin(r, a))
		}
	}
	return out
}

func firstOf(readings [][]string) []string {
	parts := make([]string, len(readings))
	for i, r := range readings {
		if len(r) == 0 {
			return nil
		}
		parts[i] = r[0]
	}
	return parts
}

// product calls add with combinations of alts in odometer order, at most
// limit times.
func product(alts [][]string, add func([]string), limit int) {
	idx := make([]int, len(alts))
	parts := make([]string, len(alts))
	for range limit {
		for i, k := range idx {
			parts[i] = alts[i][k]
		}
		add(parts)
		i := len(idx) - 1
		for ; i >= 0; i-- {
			idx[i]++
			if idx[i] < len(alts[i]) {
				break
			}
			idx[i] = 0
		}
		if i < 0 {
			return
		}
	}
}

func dedupe(s []string) []string {
	var out []string
	for _, x := range s {
		if x != "" && !contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// Numeral forms: digit, ordinary Chinese, financial Chinese.
var numeralSets = [...]string{
	"0〇零", "1一壹", "2二贰两", "3三叁", "4四肆", "5五伍", "6六陆", "7七柒", "8八捌", "9九玖",
}

// numeralForms returns the other forms of r when r is a numeral.
func numeralForms(r rune) []string {
	for _, set := range numeralSets {
		rs := []rune(set)
		for _, x := range rs {
			if x != r {
				continue
			}
			var out []string
			for _, y := range rs {
				if y != r {
					out = append(out, string(y))
				}
			}
			return out
		}
	}
	return nil
}

func contains(s []string, x string) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}
