package corpus

import (
	"strings"
	"unicode/utf8"
)

// textOnlyLine reads the common line of a JSONL corpus, an object whose
// one member is the text field, without building a map of its members
// and decoding the text twice. It reports false for every other line,
// and for a line whose text holds something encoding/json would repair
// (invalid UTF-8, an escaped surrogate): ParseLine then takes the
// general path, so the item is the same whichever path read it
// (FuzzTextOnlyLine holds this).
func textOnlyLine(data []byte, field string) (string, bool) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return "", false
	}
	i = skipSpace(data, i+1)
	// The key: compared raw, so an escaped key takes the general path.
	if i+len(field)+2 > len(data) || data[i] != '"' || string(data[i+1:i+1+len(field)]) != field || data[i+1+len(field)] != '"' {
		return "", false
	}
	i = skipSpace(data, i+len(field)+2)
	if i >= len(data) || data[i] != ':' {
		return "", false
	}
	i = skipSpace(data, i+1)
	if i >= len(data) || data[i] != '"' {
		return "", false
	}
	text, end, ok := jsonString(data, i+1)
	if !ok {
		return "", false
	}
	i = skipSpace(data, end)
	if i >= len(data) || data[i] != '}' || skipSpace(data, i+1) != len(data) {
		return "", false
	}
	return text, true
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// jsonString decodes the JSON string whose body starts at data[i] and
// returns it with the index after its closing quote; false for what the
// fast path leaves to encoding/json.
func jsonString(data []byte, i int) (string, int, bool) {
	var b strings.Builder
	for start := i; i < len(data); {
		for i < len(data) && jsonPlain[data[i]] {
			i++
		}
		if i >= len(data) {
			break
		}
		c := data[i]
		if c < 0x20 {
			return "", 0, false // invalid JSON: bad_json, decided by the general path
		}
		if b.Cap() == 0 {
			b.Grow(len(data) - start)
		}
		b.Write(data[start:i])
		if c == '"' {
			s := b.String()
			if !utf8.ValidString(s) {
				return "", 0, false
			}
			return s, i + 1, true
		}
		if i+1 >= len(data) {
			return "", 0, false
		}
		if e := data[i+1]; e == 'u' {
			r, ok := hex4(data[i+2:])
			if !ok || utf8.RuneLen(r) < 0 { // not hex, or a surrogate
				return "", 0, false
			}
			b.WriteRune(r)
			i += 4
		} else if d := jsonEscapes[e]; d != 0 {
			b.WriteByte(d)
		} else {
			return "", 0, false
		}
		i += 2
		start = i
	}
	return "", 0, false
}

// jsonPlain marks the bytes a JSON string holds as they are: all but
// the controls, the quote and the backslash.
var jsonPlain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// jsonEscapes maps the letter after a backslash to the byte it stands
// for (0: not an escape).
var jsonEscapes = [256]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
