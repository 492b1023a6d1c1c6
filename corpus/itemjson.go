package corpus

import (
	"encoding/json"
	"fmt"
	"slices"
	"unicode/utf8"
)

// appendItemLine appends a cleaned item as one JSON line, byte for byte
// what json.Marshal writes, without reflection or a copy to add the line
// end. An item with meta or changes (a few in a hundred) goes through
// json.Marshal itself; FuzzItemLine holds the rest to it.
func appendItemLine(b []byte, it *Item) ([]byte, error) {
	if len(it.Meta) > 0 || len(it.Changes) > 0 {
		j, err := json.Marshal(it)
		if err != nil {
			return b, err
		}
		return append(append(b, j...), '\n'), nil
	}
	// Room for the line when nothing needs escaping: one allocation.
	b = slices.Grow(b, len(it.ID)+len(it.Source)+len(it.Text)+32)
	b = append(b, `{"id":`...)
	b = appendJSONString(b, it.ID)
	b = append(b, `,"source":`...)
	b = appendJSONString(b, it.Source)
	b = append(b, `,"text":`...)
	b = appendJSONString(b, it.Text)
	return append(b, "}\n"...), nil
}

// appendJSONString appends s as encoding/json encodes a string (HTML
// characters escaped, invalid UTF-8 as U+FFFD, U+2028 and U+2029
// escaped).
func appendJSONString(b []byte, s string) []byte {
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
