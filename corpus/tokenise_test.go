package corpus

import (
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/cespare/xxhash/v2"
)

// refLoad is the tokeniser written plainly, rune by rune with a call per
// rune and token: load is held to it (FuzzTokenise).
func refLoad(s *ngramScratch, text string, counts bool) {
	s.text = text
	s.hash, s.chars = s.hash[:0], s.chars[:0]
	s.counts = [numScripts]int{}
	s.latinLen, s.enStop, s.zhStop, s.gopher = 0, 0, 0, 0
	s.runes, s.phrases = runeStats{}, [maxPhraseGroups]int{}
	start, script := -1, scriptOther
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		sc, word := runeScript(r)
		if counts {
			s.runes.add(r, word)
			qualityPhrases.countAt(text[i:], r, &s.phrases)
		}
		switch {
		case sc == scriptHan || sc == scriptKana || sc == scriptHangul:
			if start >= 0 {
				refToken(s, text[start:i], script)
				start = -1
			}
			refToken(s, text[i:i+size], sc)
			if sc == scriptHan && refZhStop(r) {
				s.zhStop++
			}
		case word:
			if start < 0 {
				start, script = i, sc
			} else if script == scriptOther && sc != scriptOther {
				script = sc
			}
		case start >= 0:
			refToken(s, text[start:i], script)
			start = -1
		}
		i += size
	}
	if start >= 0 {
		refToken(s, text[start:], script)
	}
}

func refZhStop(r rune) bool {
	for _, c := range zhStopChars {
		if r == c {
			return true
		}
	}
	return false
}

func refToken(s *ngramScratch, tok string, script int) {
	s.hash = append(s.hash, refTokenHash(tok))
	s.counts[script]++
	n := utf8.RuneCountInString(tok)
	s.chars = append(s.chars, int32(n))
	if script != scriptLatin {
		return
	}
	s.latinLen += n
	w := make([]byte, len(tok))
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		w[i] = c
	}
	if refEnStopword(string(w)) {
		s.enStop++
	}
	if i := slices.Index(gopherStop, string(w)); i >= 0 {
		s.gopher |= 1 << i
	}
}

// refEnStopword is the list of English function words as a switch; it reports English function words (given in lower case) that other Latin-script
// languages rarely use.
func refEnStopword(w string) bool {
	switch w {
	case "the", "and", "of", "to", "is", "that", "with", "for", "this", "are", "was", "be", "have", "it", "not",
		"on", "as", "by", "from", "at", "or", "which", "you", "he", "she", "we", "they", "his", "her", "has", "were":
		return true
	}
	return false
}

func refTokenHash(tok string) uint64 {
	if len(tok) > 8 {
		return xxhash.Sum64String(tok)
	}
	x := uint64(len(tok)) << 56
	for i := 0; i < len(tok); i++ {
		x ^= uint64(tok[i]) << (8 * i)
	}
	return mix64(x)
}

// FuzzTokenise holds the tokeniser (load, with its inline decoding,
// tables and packed stop-word look-ups) to refLoad: the same tokens,
// hashes, lengths and counts for any bytes.
func FuzzTokenise(f *testing.F) {
	for _, s := range []string{"", "The cat and THE dog", "中文的文本，是在这里。", "ｆｕｌｌ width", "日本語のテキスト", "한국어 텍스트",
		"русский текст", "naïve café", "don't_stop 42x", "锟斤拷 加微信 刷单", "\xe4\xb8", "\xed\xa0\x80", "\xe0\x80\x80",
		"𠀀𠀁 ext-b", "ÀThe", "tHaT wITh HAVE", "a\u0301b", "be\xffto"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		for _, counts := range []bool{false, true} {
			var got, want ngramScratch
			got.load(text, counts)
			refLoad(&want, text, counts)
			if !slices.Equal(got.hash, want.hash) || !slices.Equal(got.chars, want.chars) {
				t.Fatalf("load(%+q): tokens %x %v, want %x %v", text, got.hash, got.chars, want.hash, want.chars)
			}
			if got.counts != want.counts || got.latinLen != want.latinLen || got.enStop != want.enStop ||
				got.zhStop != want.zhStop || got.gopher != want.gopher || got.runes != want.runes || got.phrases != want.phrases {
				t.Fatalf("load(%+q, %v): counts %v %d %d %d %b %v %v, want %v %d %d %d %b %v %v", text, counts,
					got.counts, got.latinLen, got.enStop, got.zhStop, got.gopher, got.runes, got.phrases,
					want.counts, want.latinLen, want.enStop, want.zhStop, want.gopher, want.runes, want.phrases)
			}
		}
	})
}
