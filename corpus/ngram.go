package corpus

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/cespare/xxhash/v2"
)

// ngramScratch is one worker's reusable memory for the repetition rules.
type ngramScratch struct {
	hash                     []uint64 // token hashes
	chars                    []int32  // token lengths in characters
	keys                     []uint64 // open-addressing table
	vals                     []int32
	text                     string // what load tokenised
	counts                   [numScripts]int
	latinLen, enStop, zhStop int
	gopher                   uint8    // Gopher's stop words seen, one bit each
	lines                    []uint64 // line hashes (dup-line rule)
	sig                      []uint64 // MinHash signature
	empty                    []bool   // its empty bins
	band                     []byte   // one band's bytes
}

// load splits text into tokens and counts what the quality and language
// rules need, once for all of them.
func (s *ngramScratch) load(text string) {
	s.text = text
	s.hash, s.chars = s.hash[:0], s.chars[:0]
	s.counts = [numScripts]int{}
	s.latinLen, s.enStop, s.zhStop, s.gopher = 0, 0, 0, 0
	eachToken(text, func(tok string, script int) {
		s.hash = append(s.hash, tokenHash(tok))
		s.counts[script]++
		switch script {
		case scriptLatin:
			n := len(tok) // Latin words are mostly ASCII: bytes for runes
			if !isASCII(tok) {
				n = utf8.RuneCountInString(tok)
			}
			s.chars = append(s.chars, int32(n))
			s.latinLen += n
			if len(tok) <= 5 {
				s.stopword(tok)
			}
		case scriptHan:
			s.chars = append(s.chars, 1)
			if strings.Contains(zhStopChars, tok) {
				s.zhStop++
			}
		default:
			s.chars = append(s.chars, int32(utf8.RuneCountInString(tok)))
		}
	})
}

func (s *ngramScratch) stopword(tok string) {
	var buf [5]byte
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	w := string(buf[:len(tok)])
	if enStopword(w) {
		s.enStop++
	}
	for i, g := range gopherStop {
		if w == g {
			s.gopher |= 1 << i
		}
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// tokenHash hashes a token: short ones (a Chinese character, most words)
// by their bytes, mixed; longer ones with xxhash.
func tokenHash(tok string) uint64 {
	if len(tok) > 8 {
		return xxhash.Sum64String(tok)
	}
	x := uint64(len(tok)) << 56
	for i := 0; i < len(tok); i++ {
		x ^= uint64(tok[i]) << (8 * i)
	}
	return mix64(x)
}

// reset clears the table, sized for n keys.
func (s *ngramScratch) reset(n int) {
	size := 16
	for size < 2*n {
		size <<= 1
	}
	if cap(s.keys) < size {
		s.keys, s.vals = make([]uint64, size), make([]int32, size)
	}
	s.keys, s.vals = s.keys[:size], s.vals[:size]
	clear(s.keys)
}

// add counts key and returns its new count.
func (s *ngramScratch) add(key uint64) int32 {
	key |= 1 // 0 marks an empty slot
	mask := uint64(len(s.keys) - 1)
	for i := (key * 0x9e3779b97f4a7c15) >> 7 & mask; ; i = (i + 1) & mask {
		switch s.keys[i] {
		case key:
			s.vals[i]++
			return s.vals[i]
		case 0:
			s.keys[i], s.vals[i] = key, 1
			return 1
		}
	}
}

const ngramMul = 0x100000001b3

// ngrams calls fn with the hash of every n-gram of tokens, by a rolling
// polynomial hash.
func (s *ngramScratch) ngrams(n int, fn func(i int, h uint64)) {
	if len(s.hash) < n {
		return
	}
	var h, top uint64 = 0, 1
	for k := 0; k < n; k++ {
		h = h*ngramMul + s.hash[k]
		if k > 0 {
			top *= ngramMul
		}
	}
	fn(0, h)
	for i := 1; i+n <= len(s.hash); i++ {
		h = (h-s.hash[i-1]*top)*ngramMul + s.hash[i+n-1]
		fn(i, h)
	}
}

func (s *ngramScratch) charsOf(i, n int) int {
	c := 0
	for _, x := range s.chars[i : i+n] {
		c += int(x)
	}
	return c
}

// repetition applies Gopher's repetition rules over token n-grams: the
// share of characters covered by the most frequent n-gram (small n), and
// by n-grams seen before (large n; a repeat skips past itself, as in
// Gopher's reference code, so overlapping repeats count once).
func (q *qualityStage) repetition(s *ngramScratch) *Event {
	if len(q.c.TopNgram) == 0 && len(q.c.DupNgram) == 0 {
		return nil
	}
	total := 0
	for _, c := range s.chars {
		total += int(c)
	}
	if total == 0 {
		return nil
	}
	for _, n := range q.top {
		limit := q.c.TopNgram[n]
		if limit <= 0 {
			continue
		}
		s.reset(len(s.hash))
		var best int32
		bestAt := 0
		s.ngrams(n, func(i int, h uint64) {
			if c := s.add(h); c > best {
				best, bestAt = c, i
			}
		})
		if best > 1 {
			if r := float64(int(best)*s.charsOf(bestAt, n)) / float64(total); r > limit {
				return &Event{Stage: StageQuality, Rule: fmt.Sprintf("top_%dgram", n), Detail: fmt.Sprintf("%.3g", r)}
			}
		}
	}
	// A position covered by a repeated n-gram is covered by a repeated
	// m-gram for every m < n, so the shares fall as n grows: when the
	// smallest n's share is under every larger n's limit, they all are.
	for k, n := range q.dup {
		limit := q.c.DupNgram[n]
		if limit <= 0 {
			continue
		}
		s.reset(len(s.hash))
		dup, end := 0, 0
		s.ngrams(n, func(i int, h uint64) {
			if s.add(h) > 1 {
				for j := max(i, end); j < i+n; j++ {
					dup += int(s.chars[j])
				}
				end = max(end, i+n)
			}
		})
		r := float64(dup) / float64(total)
		if r > limit {
			return &Event{Stage: StageQuality, Rule: fmt.Sprintf("dup_%dgram", n), Detail: fmt.Sprintf("%.3g", r)}
		}
		if r <= q.minDupLimit(k+1) {
			break
		}
	}
	return nil
}

// minDupLimit is the least positive limit of the n-grams from the k-th on.
func (q *qualityStage) minDupLimit(k int) float64 {
	m := 1.0
	for _, n := range q.dup[min(k, len(q.dup)):] {
		if l := q.c.DupNgram[n]; l > 0 {
			m = min(m, l)
		}
	}
	return m
}

func sortedKeys(m map[int]float64) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
