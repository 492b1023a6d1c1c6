package pii

import "unicode/utf8"

// Hold returns how many bytes at the end of text could still become part
// of a hit once more text arrives: the trailing run of characters that
// personal information is written with (letters, digits, the punctuation of
// e-mail addresses, IP addresses and grouped numbers, brackets of area
// codes, and spaces between digit groups). A stream needs to hold back
// only that much, not MaxSpan: after prose or Chinese text it is a word or
// nothing.
func (d *Detector) Hold(text string) int {
	end := len(text)
	i := end
	for i > 0 && end-i < maxEmail {
		r, size := utf8.DecodeLastRuneInString(text[:i])
		if !holdRune(r, text[:i-size], text[i:]) {
			break
		}
		i -= size
	}
	return end - i
}

// holdRune says whether r, with before and after it, may belong to a hit
// still being written.
func holdRune(r rune, before, after string) bool {
	switch {
	case r >= '0' && r <= '9', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		return true
	case r == ' ':
		// Only between digit groups ("138 1234 5678"), or after a digit at
		// the end, where the next group may follow.
		prev, _ := utf8.DecodeLastRuneInString(before)
		next, _ := utf8.DecodeRuneInString(after)
		return digitRune(prev) && (after == "" || digitRune(next))
	}
	switch r {
	case '@', '.', '_', '%', '+', '-', ':', '(', ')', '（', '）', '转',
		'!', '#', '$', '&', '\'', '*', '/', '=', '?', '^', '`', '{', '|', '}', '~':
		return true
	}
	return false
}

func digitRune(r rune) bool { return r >= '0' && r <= '9' }
