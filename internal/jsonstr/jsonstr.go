// Package jsonstr appends a string as encoding/json encodes it, without
// reflection or an allocation of its own: for the hot paths that write
// JSON by hand (scan results, cleaned corpus items, label records).
package jsonstr

import (
	"fmt"
	"unicode/utf8"
)

// Append appends s to b as json.Marshal encodes a string: quoted, the
// HTML characters <, > and & escaped, control characters escaped,
// invalid UTF-8 as U+FFFD, and U+2028 and U+2029 escaped. Runs that need
// no escape are copied whole.
func Append(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		var esc string
		size := 1
		if c := s[i]; c < utf8.RuneSelf {
			esc = asciiEscapes[c]
		} else {
			var r rune
			r, size = utf8.DecodeRuneInString(s[i:])
			esc = runeEscape(r, size)
		}
		if esc != "" {
			b = append(append(b, s[start:i]...), esc...)
			start = i + size
		}
		i += size
	}
	return append(append(b, s[start:]...), '"')
}

// asciiEscapes is how encoding/json writes each ASCII character in a
// string: "" for the character itself.
var asciiEscapes = func() (t [utf8.RuneSelf]string) {
	for c := range t {
		if c < 0x20 || c == '<' || c == '>' || c == '&' {
			t[c] = fmt.Sprintf(`\u%04x`, c)
		}
	}
	t['"'], t['\\'] = `\"`, `\\`
	t['\b'], t['\f'], t['\n'], t['\r'], t['\t'] = `\b`, `\f`, `\n`, `\r`, `\t`
	return t
}()

func runeEscape(r rune, size int) string {
	switch {
	case r == utf8.RuneError && size == 1:
		return `\ufffd`
	case r == '\u2028':
		return `\u2028`
	case r == '\u2029':
		return `\u2029`
	}
	return ""
}
