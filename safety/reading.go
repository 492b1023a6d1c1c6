package safety

import (
	"encoding/base64"
	"html"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// CheckRead reviews text as it is written and, when a reader would
// read it otherwise, as read (see reading): escapes undone — JSON and
// backslash escapes ("\u0062omb", "\x62omb"), HTML character references
// ("&#98;omb", "b&ouml;mb", which Markdown renders), percent-encoding
// ("%62omb") —, Base64 that decodes to text ("cGlwZSBib21i"), and digits
// written for letters ("b0mb"). A model reads them as the letters they
// stand for, and so does a program that parses JSON or a page that
// renders HTML. Hits are given where they are written, and
// a masked term is masked there, escapes and all.
func (e *Engine) CheckRead(dir Direction, text string) Decision {
	d := e.Check(dir, text)
	if d.Action >= Refuse {
		return d
	}
	decoded, at, ok := reading(text, 0)
	if !ok {
		return d
	}
	masks := maskHitsOf(nil, d.Hits)
	n := len(masks)
	dd := e.Check(dir, decoded)
	kept := dd.Hits[:0]
	for _, h := range dd.Hits {
		h.Start, h.End = written(at, h.Start, h.End)
		if hasHit(d.Hits, h) {
			continue // read as written already
		}
		if h.Action == Mask {
			masks = append(masks, h)
		}
		kept = append(kept, h)
	}
	dd.Hits, dd.Masked = kept, ""
	d.Hits = append(d.Hits, dd.Hits...)
	if dd.Action > d.Action {
		d.Action, d.Code, d.Reply = dd.Action, dd.Code, dd.Reply
	}
	if len(masks) > n && d.Action < Refuse {
		d.Masked = e.Decide(dir, text, masks).Masked
	}
	return d
}

// written returns where the bytes [start, end) of a reading are written,
// given the reading's offsets at: from where its first byte is written to
// where the byte after its last is, or, when that is the same place (a
// hit inside what one escape or one run of Base64 decodes to), to where
// the next thing written begins: the whole of what it was read from.
func written(at []int, start, end int) (int, int) {
	from, to := at[start], at[end]
	if to <= from { // at rises: the first place past from, found by halving
		k, _ := slices.BinarySearch(at[end:], from+1)
		to = at[min(end+k, len(at)-1)]
	}
	return from, to
}

func hasHit(hits []Hit, h Hit) bool {
	for _, x := range hits {
		if x.Start == h.Start && x.End == h.End && x.Term == h.Term && x.Rule == h.Rule {
			return true
		}
	}
	return false
}

// reading returns text as a reader reads it: its escapes decoded
// (unescape), its runs of Base64 that decode to text and begin at or
// after byte from64 decoded (unbase64; none when from64 is negative), and, in a word of ASCII letters and digits, the digits that
// stand for letters read as those letters ("b0mb", "k1ll y0ur5elf"; a
// number without letters stays a number). at gives, for each byte of the
// reading and its end, where in text it is written; ok is false when the
// reading is the text.
func reading(text string, from64 int) (read string, at []int, ok bool) {
	read, at, ok = unescape(text)
	if !ok {
		read = text
	}
	if from64 >= 0 {
		if plain, at64, changed := unbase64(read, from64); changed {
			if ok { // where the escaped reading is written
				for i, j := range at64 {
					at64[i] = at[j]
				}
			}
			read, at, ok = plain, at64, true
		}
	}
	if plain, changed := unleet(read); changed {
		read = plain
		if !ok {
			at = make([]int, len(text)+1)
			for i := range at {
				at[i] = i
			}
		}
		ok = true
	}
	return read, at, ok
}

// leetLetters are the letters digits stand for in a word.
var leetLetters = [10]byte{0: 'o', 1: 'i', 3: 'e', 4: 'a', 5: 's', 7: 't'}

// unleet reads the digits of every word of ASCII letters and digits that
// holds both as the letters they stand for. Bytes keep their places.
func unleet(s string) (string, bool) {
	var b []byte
	for i := 0; i < len(s); {
		j, letters, digits := i, false, false
		for ; j < len(s) && isAlnum(s[j]); j++ {
			if s[j] <= '9' {
				digits = digits || leetLetters[s[j]-'0'] != 0
			} else {
				letters = true
			}
		}
		if letters && digits {
			if b == nil {
				b = []byte(s)
			}
			for k := i; k < j; k++ {
				if c := s[k]; c <= '9' && leetLetters[c-'0'] != 0 {
					b[k] = leetLetters[c-'0']
				}
			}
		}
		i = j + 1
	}
	if b == nil {
		return s, false
	}
	return unsafe.String(unsafe.SliceData(b), len(b)), true // b is not written again
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'z'
}

// minBase64 is the shortest run of Base64 that is read decoded: 8
// characters, 6 bytes, two Chinese characters or a short English word.
const minBase64 = 8

// unbase64 returns text with every run of at least minBase64 Base64
// characters (standard or URL alphabet, padded or not) that decodes to
// printable UTF-8 text replaced by that text and, for each byte of the
// result and its end, where in text it is written; changed is false when
// no run decodes. A run is a maximal stretch of the alphabet, so a word
// of letters seldom decodes to text, and the rare one that does is read
// both ways (the text as written is reviewed too).
func unbase64(text string, from int) (decoded string, at []int, changed bool) {
	var b []byte
	last := 0 // text[:last] is in b
	for i := 0; i < len(text); {
		if !isBase64(text[i]) {
			i++
			continue
		}
		j := i
		for j < len(text) && isBase64(text[j]) {
			j++
		}
		end := j
		for pad := 0; end < len(text) && text[end] == '=' && pad < 2; pad++ {
			end++
		}
		if j-i >= minBase64 && i >= from {
			if plain, ok := decodeBase64(text[i:j]); ok {
				if b == nil {
					b = make([]byte, 0, len(text))
					at = make([]int, 0, len(text)+1)
				}
				for k := last; k < i; k++ {
					at = append(at, k)
				}
				b = append(b, text[last:i]...)
				for range len(plain) {
					at = append(at, i)
				}
				b = append(b, plain...)
				last = end
			}
		}
		i = end
	}
	if b == nil {
		return text, nil, false
	}
	for k := last; k < len(text); k++ {
		at = append(at, k)
	}
	b = append(b, text[last:]...)
	return string(b), append(at, len(text)), true
}

func isBase64(c byte) bool {
	return isAlnum(c) || c == '+' || c == '/' || c == '-' || c == '_'
}

// decodeBase64 decodes run, unpadded, in the one alphabet it is written
// in, when what it holds is printable text with a letter in it.
func decodeBase64(run string) (string, bool) {
	enc := base64.RawStdEncoding
	switch std, url := strings.ContainsAny(run, "+/"), strings.ContainsAny(run, "-_"); {
	case std && url:
		return "", false
	case url:
		enc = base64.RawURLEncoding
	}
	// Most runs are words that decode to no text: decode on the stack,
	// from the run's own bytes, and allocate only for text.
	var small [192]byte
	buf := small[:]
	if n := enc.DecodedLen(len(run)); n > len(buf) {
		buf = make([]byte, n)
	}
	n, err := enc.Decode(buf, unsafe.Slice(unsafe.StringData(run), len(run))) // read only
	buf = buf[:n]
	if err != nil || !utf8.Valid(buf) {
		return "", false
	}
	letter := false
	for _, r := range string(buf) {
		switch {
		case unicode.IsLetter(r):
			letter = true
		case r == '\n' || r == '\t' || r == '\r' || unicode.IsPrint(r):
		default:
			return "", false
		}
	}
	return string(buf), letter
}

// unescape returns text with its escapes decoded and, for each byte of the
// result and its end, the offset in text where what it was decoded from
// begins; ok is false when text holds no escape.
func unescape(text string) (decoded string, at []int, ok bool) {
	first := strings.IndexAny(text, escapeStarts)
	for first >= 0 && first < len(text) {
		if _, n := escapeAt(text[first:]); n > 0 {
			break
		}
		next := strings.IndexAny(text[first+1:], escapeStarts)
		if next < 0 {
			return "", nil, false
		}
		first += 1 + next
	}
	if first < 0 {
		return "", nil, false
	}
	var b strings.Builder
	b.Grow(len(text))
	b.WriteString(text[:first])
	at = make([]int, first, len(text)+1)
	for i := range first {
		at[i] = i
	}
	for i := first; i < len(text); {
		start := b.Len()
		s, n := escapeAt(text[i:])
		if n == 0 {
			_, n = utf8.DecodeRuneInString(text[i:])
			s = text[i : i+n]
		}
		b.WriteString(s)
		for range b.Len() - start {
			at = append(at, i)
		}
		i += n
	}
	return b.String(), append(at, len(text)), true
}

// escapeStarts are the characters an escape begins with: a backslash, an
// ampersand, a percent sign, and the zero-width joiner and skin tones that
// make one emoji of several.
const escapeStarts = "\\&%\u200d🏻🏼🏽🏾🏿"

// escapeAt decodes the escape at the start of s and returns what it
// stands for and the bytes it took; n is 0 when s starts with none. An
// emoji joined to the one before (after a zero-width joiner) and a skin
// tone read as part of that emoji: one symbol, however many runes.
func escapeAt(s string) (string, int) {
	if len(s) < 2 {
		return "", 0
	}
	if s[0] == 0xF0 { // a skin tone, U+1F3FB–U+1F3FF
		if r, n := utf8.DecodeRuneInString(s); r >= 0x1F3FB && r <= 0x1F3FF {
			return "", n
		}
		return "", 0
	}
	if strings.HasPrefix(s, "\u200d") {
		if r, n := utf8.DecodeRuneInString(s[3:]); n > 0 && (r >= 0x1F000 || unicode.IsSymbol(r)) {
			return "", 3 + n
		}
		return "", 0
	}
	switch s[0] {
	case '\\':
		return backslashEscape(s)
	case '&':
		return characterReference(s)
	case '%':
		return percentEscapes(s)
	}
	return "", 0
}

func backslashEscape(s string) (string, int) {
	switch s[1] {
	case '"', '\\', '/':
		return s[1:2], 2
	case 'b':
		return "\b", 2
	case 'f':
		return "\f", 2
	case 'n':
		return "\n", 2
	case 'r':
		return "\r", 2
	case 't':
		return "\t", 2
	case 'x':
		if v, ok := hexValue(s[2:], 2); ok {
			return string(rune(v)), 4
		}
	case 'u':
		r, ok := hexValue(s[2:], 4)
		if !ok {
			return "", 0
		}
		if !utf16.IsSurrogate(r) {
			return string(r), 6
		}
		if len(s) >= 12 && s[6] == '\\' && s[7] == 'u' {
			if r2, ok := hexValue(s[8:], 4); ok {
				if c := utf16.DecodeRune(r, r2); c != utf8.RuneError {
					return string(c), 12
				}
			}
		}
		return string(utf8.RuneError), 6
	}
	return "", 0
}

// characterReference decodes an HTML character reference, named or
// numeric, ended by a semicolon.
func characterReference(s string) (string, int) {
	end := strings.IndexByte(s[:min(len(s), 34)], ';')
	if end < 2 {
		return "", 0
	}
	ref := s[:end+1]
	if strings.ContainsAny(ref[1:], "& \t\n") {
		return "", 0
	}
	if dec := html.UnescapeString(ref); dec != ref {
		return dec, len(ref)
	}
	return "", 0
}

// percentEscapes decodes a run of percent-encoded bytes that forms valid
// UTF-8.
func percentEscapes(s string) (string, int) {
	var buf []byte
	n := 0
	for n+3 <= len(s) && s[n] == '%' {
		v, ok := hexValue(s[n+1:], 2)
		if !ok {
			break
		}
		buf = append(buf, byte(v))
		n += 3
	}
	if n == 0 || !utf8.Valid(buf) {
		return "", 0
	}
	return string(buf), n
}

func hexValue(s string, digits int) (rune, bool) {
	if len(s) < digits {
		return 0, false
	}
	for i := range digits {
		c := s[i] | 0x20
		if !(s[i] >= '0' && s[i] <= '9' || c >= 'a' && c <= 'f') {
			return 0, false
		}
	}
	v, err := strconv.ParseUint(s[:digits], 16, 32)
	return rune(v), err == nil
}

// maskHitsOf appends the mask hits of hits to dst.
func maskHitsOf(dst, hits []Hit) []Hit {
	for _, h := range hits {
		if h.Action == Mask {
			dst = append(dst, h)
		}
	}
	return dst
}
