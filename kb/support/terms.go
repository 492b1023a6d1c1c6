package support

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// maxTermBytes bounds one term: longer runs of letters are cut, so no
// database drops a word for its length.
const maxTermBytes = 64

// Terms returns the index terms of text, in order: lowercase runs of
// letters, and runs of digits, for alphabetic scripts, and overlapping bigrams of
// CJK characters (a lone character stands for itself). Text is NFKC
// normalised first, so full-width letters and digits match their ASCII
// forms. English stop words are left out. The same function makes the
// terms of documents and of queries, which is what lets BM25 match
// Chinese text without a dictionary segmenter.
func Terms(text string) []string {
	var out []string
	emit := func(t string) {
		if len(t) > maxTermBytes {
			t = t[:maxTermBytes]
			for !utf8.ValidString(t) {
				t = t[:len(t)-1]
			}
		}
		if !stopWords[t] {
			out = append(out, t)
		}
	}
	text = norm.NFKC.String(text)
	var word strings.Builder
	var cjk []rune
	digits := false // the word being read is a number
	flushWord := func() {
		if word.Len() > 0 {
			emit(word.String())
			word.Reset()
		}
	}
	flushCJK := func() {
		switch len(cjk) {
		case 0:
		case 1:
			emit(string(cjk))
		default:
			for i := 0; i+1 < len(cjk); i++ {
				emit(string(cjk[i : i+2]))
			}
		}
		cjk = cjk[:0]
	}
	for _, r := range text {
		switch {
		case isCJK(r):
			flushWord()
			cjk = append(cjk, r)
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			flushCJK()
			if d := unicode.IsDigit(r); word.Len() > 0 && d != digits {
				flushWord() // "500mg" is "500 mg": it matches either way of writing it
			}
			digits = unicode.IsDigit(r)
			word.WriteRune(unicode.ToLower(r))
		case unicode.Is(unicode.Mn, r) && word.Len() > 0:
			// a combining mark belongs to its letter
			word.WriteRune(r)
		default:
			flushWord()
			flushCJK()
		}
	}
	flushWord()
	flushCJK()
	return out
}

// isCJK reports whether r is written without spaces between words: Han,
// kana, Hangul.
func isCJK(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

// stopWords are English function words: they carry no support and only
// lengthen queries.
var stopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`a an the and or but if of to in on at by for with from as is are was were be been
		being it its this that these those there their they them he she his her we our you your i me my
		do does did so not no than then also can could may might will would should shall has have had
		which who whom what when where how about into over under such any all each per via`) {
		m[w] = true
	}
	return m
}()
