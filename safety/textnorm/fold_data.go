package textnorm

import (
	"fmt"
	"strconv"
	"unicode"
	"unicode/utf8"

	"github.com/longbridgeapp/opencc"
)

// loadT2S reads OpenCC's traditional → simplified character table (the
// single-character entries of its t2s conversion) into a rune map.
func loadT2S() (map[rune]rune, error) {
	cc, err := opencc.New("t2s")
	if err != nil {
		return nil, fmt.Errorf("load opencc t2s: %w", err)
	}
	m := map[rune]rune{}
	for _, g := range cc.DictChains {
		for i, d := range g.Dicts {
			if i >= len(g.Files) || g.Files[i] != "TSCharacters.ocd2" {
				continue
			}
			for _, id := range d.Trie.PrefixPredict(nil, 0) {
				key, err := d.Trie.Key(id)
				if err != nil {
					continue
				}
				v, err := d.Trie.Value(id)
				if err != nil || v < 0 || v >= len(d.Values) || len(d.Values[v]) == 0 {
					continue
				}
				from, n := utf8.DecodeRune(key)
				to, m2 := utf8.DecodeRuneInString(d.Values[v][0])
				if n == len(key) && m2 == len(d.Values[v][0]) && from != to {
					m[from] = to
				}
			}
		}
	}
	if len(m) < 1000 {
		return nil, fmt.Errorf("load opencc t2s: only %d characters", len(m))
	}
	return m, nil
}

// digitFolds maps digit variants that compatibility folding leaves alone to
// ASCII digits: the digits of every script (from Unicode's Nd ranges, which
// run 0–9 in order) and the dingbat and negative circled numbers.
func digitFolds() map[rune]string {
	m := map[rune]string{}
	for _, r16 := range unicode.Nd.R16 {
		addDigitRun(m, rune(r16.Lo), rune(r16.Hi), rune(r16.Stride))
	}
	for _, r32 := range unicode.Nd.R32 {
		addDigitRun(m, rune(r32.Lo), rune(r32.Hi), rune(r32.Stride))
	}
	for r := '0'; r <= '9'; r++ {
		delete(m, r)
	}
	circled := []struct {
		lo, hi rune
		first  int
	}{
		{0x2776, 0x277F, 1},   // ❶–❿
		{0x2780, 0x2789, 1},   // ➀–➉
		{0x278A, 0x2793, 1},   // ➊–➓
		{0x24EB, 0x24F4, 11},  // ⓫–⓴
		{0x24F5, 0x24FE, 1},   // ⓵–⓾
		{0x24FF, 0x24FF, 0},   // ⓿
		{0x1F10B, 0x1F10C, 0}, // 🄋 🄌
	}
	for _, c := range circled {
		for r := c.lo; r <= c.hi; r++ {
			m[r] = strconv.Itoa(c.first + int(r-c.lo))
		}
	}
	return m
}

func addDigitRun(m map[rune]string, lo, hi, stride rune) {
	if stride != 1 {
		return
	}
	for r := lo; r <= hi; r++ {
		m[r] = string(rune('0' + (r-lo)%10))
	}
}

// letterVariants maps letter symbols that compatibility folding leaves
// alone to the letters they are read as: negative circled and negative
// squared letters (🅑, 🅱). The noise they would otherwise be hides a
// term from review and from no reader. Regional indicators stay noise: a
// pair of them is read as a flag (🇨🇳), and a flag between characters is
// noise like any emoji.
var letterVariants = func() map[rune]rune {
	m := map[rune]rune{}
	for _, lo := range []rune{0x1F150, 0x1F170} {
		for i := range rune(26) {
			m[lo+i] = 'A' + i
		}
	}
	return m
}()

// lookalikes maps letters that look like Latin letters to them. Upper-case
// sources fold to upper case (the case fold follows), so that a Cyrillic
// "В" becomes "b" while a lower-case "в", which looks like no Latin letter,
// stays itself.
var lookalikes = map[rune]rune{
	// Cyrillic
	'а': 'a', 'е': 'e', 'о': 'o', 'р': 'p', 'с': 'c', 'у': 'y', 'х': 'x',
	'ѕ': 's', 'і': 'i', 'ј': 'j', 'ԁ': 'd', 'ԛ': 'q', 'ԝ': 'w', 'һ': 'h', 'ӏ': 'l',
	'А': 'A', 'В': 'B', 'Е': 'E', 'К': 'K', 'М': 'M', 'Н': 'H', 'О': 'O',
	'Р': 'P', 'С': 'C', 'Т': 'T', 'У': 'Y', 'Х': 'X', 'Ѕ': 'S', 'І': 'I',
	'Ј': 'J', 'Ԛ': 'Q', 'Ԝ': 'W', 'Һ': 'H', 'Ӏ': 'l',
	// Greek
	'Α': 'A', 'Β': 'B', 'Ε': 'E', 'Ζ': 'Z', 'Η': 'H', 'Ι': 'I', 'Κ': 'K',
	'Μ': 'M', 'Ν': 'N', 'Ο': 'O', 'Ρ': 'P', 'Τ': 'T', 'Υ': 'Y', 'Χ': 'X',
	'ο': 'o', 'α': 'a', 'ν': 'v', 'ι': 'i', 'κ': 'k', 'ρ': 'p', 'υ': 'u',
	'χ': 'x', 'ϲ': 'c', 'ϳ': 'j',
	// Latin small capitals and script forms
	'ᴀ': 'a', 'ʙ': 'b', 'ᴄ': 'c', 'ᴅ': 'd', 'ᴇ': 'e', 'ɢ': 'g', 'ʜ': 'h',
	'ɪ': 'i', 'ᴊ': 'j', 'ᴋ': 'k', 'ʟ': 'l', 'ᴍ': 'm', 'ɴ': 'n', 'ᴏ': 'o',
	'ᴘ': 'p', 'ʀ': 'r', 'ꜱ': 's', 'ᴛ': 't', 'ᴜ': 'u', 'ᴠ': 'v', 'ᴡ': 'w',
	'ʏ': 'y', 'ᴢ': 'z', 'ɑ': 'a', 'ɡ': 'g', 'ı': 'i', 'ȷ': 'j', 'ᴑ': 'o',
	// Latin letters with a stroke or hook, which have no decomposition
	'ø': 'o', 'Ø': 'O', 'ƀ': 'b', 'ɓ': 'b', 'ƈ': 'c', 'đ': 'd', 'Đ': 'D', 'ɗ': 'd',
	'ɇ': 'e', 'ǥ': 'g', 'ɠ': 'g', 'ħ': 'h', 'Ħ': 'H', 'ɦ': 'h', 'ɨ': 'i', 'ɉ': 'j',
	'ƙ': 'k', 'ł': 'l', 'Ł': 'L', 'ƚ': 'l', 'ɱ': 'm', 'ɲ': 'n', 'ƞ': 'n', 'ƥ': 'p',
	'ꝑ': 'p', 'ʠ': 'q', 'ɍ': 'r', 'ʂ': 's', 'ŧ': 't', 'ƭ': 't', 'ʉ': 'u', 'ƶ': 'z',
	'ʐ': 'z',
	// Armenian, Coptic and Cherokee letters drawn as Latin ones
	'օ': 'o', 'ս': 'u', 'ո': 'n', 'հ': 'h', 'ց': 'g', 'զ': 'q', 'Տ': 'S', 'Օ': 'O',
	'ⲟ': 'o', 'Ⲟ': 'O', 'ⲣ': 'p', 'Ⲣ': 'P', 'ⲥ': 'c', 'Ⲥ': 'C',
	'Ꭺ': 'A', 'Ᏼ': 'B', 'Ꮯ': 'C', 'Ꭰ': 'D', 'Ꭼ': 'E', 'Ꮐ': 'G', 'Ꮋ': 'H', 'Ꭻ': 'J',
	'Ꮶ': 'K', 'Ꮮ': 'L', 'Ꮇ': 'M', 'Ꮲ': 'P', 'Ꮢ': 'R', 'Ꮪ': 'S', 'Ꭲ': 'T', 'Ꮩ': 'V',
	'Ꮃ': 'W', 'Ꮓ': 'Z', 'Ꭱ': 'R', 'Ꭹ': 'Y', 'Ꮍ': 'Y', 'Ꮤ': 'W', 'Ꮥ': 'S', 'Ꮟ': 'b',
	'Ꮒ': 'h',
}
