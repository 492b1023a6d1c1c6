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

// eachToken calls fn for each token of s: a single Han, kana or Hangul
// character, or a run of other letters and digits (a word). Chinese has
// no spaces between words, so its characters are its tokens. It does not
// allocate; tok is a substring of s.
func eachToken(s string, fn func(tok string, script int)) {
	start, script := -1, scriptOther
	for i := 0; i < len(s); {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		sc, word := runeScript(r)
		switch {
		case sc == scriptHan || sc == scriptKana || sc == scriptHangul:
			if start >= 0 {
				fn(s[start:i], script)
				start = -1
			}
			fn(s[i:i+size], sc)
		case word:
			if start < 0 {
				start, script = i, sc
			} else if script == scriptOther && sc != scriptOther {
				script = sc // a word's script is that of its first letter
			}
		default:
			if start >= 0 {
				fn(s[start:i], script)
				start = -1
			}
		}
		i += size
	}
	if start >= 0 {
		fn(s[start:], script)
	}
}

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
