package corpus

import (
	"unicode"
	"unicode/utf8"
)

// Script classes of a token.
const (
	scriptOther = iota
	scriptHan
	scriptKana
	scriptHangul
	scriptLatin
	scriptCyrillic
	numScripts
)

// runeScript returns the script of r and whether r is part of a word
// (a letter, a digit or a combining mark).
func runeScript(r rune) (int, bool) {
	switch {
	case r < utf8.RuneSelf:
		c := byte(r)
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			return scriptLatin, true
		}
		return scriptOther, c >= '0' && c <= '9' || c == '\'' || c == '_'
	case r >= 0x4e00 && r <= 0x9fff, r >= 0x3400 && r <= 0x4dbf, r >= 0x20000 && r <= 0x2ffff, r >= 0xf900 && r <= 0xfaff:
		return scriptHan, true
	case r >= 0x3040 && r <= 0x30ff:
		return scriptKana, true
	case r >= 0xac00 && r <= 0xd7af, r >= 0x1100 && r <= 0x11ff:
		return scriptHangul, true
	case unicode.Is(unicode.Latin, r):
		return scriptLatin, true
	case unicode.Is(unicode.Cyrillic, r):
		return scriptCyrillic, true
	case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
		return scriptOther, true
	}
	return scriptOther, false
}
