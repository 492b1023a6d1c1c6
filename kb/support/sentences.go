package support

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Sentences splits text into sentences: after 。！？；!?; (and closing
// quotes or brackets that follow), after a full stop followed by a space
// or the end, and at line breaks. Each sentence keeps its punctuation
// and the spaces after it, so the sentences joined are text again.
func Sentences(text string) []string {
	var out []string
	start := 0
	for i := 0; i < len(text); {
		r, n := utf8.DecodeRuneInString(text[i:])
		end := -1
		switch {
		case r == '\n':
			end = i + n
		case strings.ContainsRune("。！？；!?;…", r):
			end = closeQuotes(text, i+n)
		case r == '.':
			next := i + n
			if next >= len(text) || text[next] == ' ' || text[next] == '\n' || text[next] == '\t' {
				if !abbreviation(text[start:i]) {
					end = closeQuotes(text, next)
				}
			}
		}
		if end < 0 {
			i += n
			continue
		}
		for end < len(text) && (text[end] == ' ' || text[end] == '\t' || text[end] == '\n' || text[end] == '\r') {
			end++
		}
		out = append(out, text[start:end])
		start, i = end, end
	}
	if start < len(text) {
		out = append(out, text[start:])
	}
	return out
}

// closeQuotes moves past closing quotes and brackets after a sentence's
// end.
func closeQuotes(text string, i int) int {
	for i < len(text) {
		r, n := utf8.DecodeRuneInString(text[i:])
		if !strings.ContainsRune(`"')]}”’」』）】`, r) {
			break
		}
		i += n
	}
	return i
}

// abbreviation says whether the text before a full stop ends in a short
// abbreviation or a number's decimal point ("e.g", "Dr", "3"), after which
// a full stop does not end the sentence.
func abbreviation(before string) bool {
	k := strings.LastIndexFunc(before, func(r rune) bool { return unicode.IsSpace(r) || r == '(' })
	w := strings.ToLower(before[k+1:])
	switch w {
	case "e.g", "i.e", "dr", "mr", "mrs", "ms", "vs", "etc", "no", "fig", "approx", "st":
		return true
	}
	return len(w) == 1 && unicode.IsLetter(rune(w[0])) && unicode.IsUpper(rune(before[len(before)-1]))
}
