package corpus

import (
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/cespare/xxhash/v2"
)

// ngramScratch is one worker's reusable memory for the repetition rules.
type ngramScratch struct {
	hash  []uint64 // token hashes
	chars []int32  // token lengths in characters
	keys  []uint64 // open-addressing table
	vals  []int32
	sig   []uint64 // MinHash signature
	empty []bool   // its empty bins
	band  []byte   // one band's bytes
}

// load splits text into tokens.
func (s *ngramScratch) load(text string) {
	s.hash, s.chars = s.hash[:0], s.chars[:0]
	eachToken(text, func(tok string, _ int) {
		s.hash = append(s.hash, xxhash.Sum64String(tok))
		s.chars = append(s.chars, int32(utf8.RuneCountInString(tok)))
	})
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
func (q *qualityStage) repetition(text string) *Event {
	if len(q.c.TopNgram) == 0 && len(q.c.DupNgram) == 0 {
		return nil
	}
	s := q.pools.Get().(*ngramScratch)
	defer q.pools.Put(s)
	s.load(text)
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
	for _, n := range q.dup {
		limit := q.c.DupNgram[n]
		if limit <= 0 {
			continue
		}
		s.reset(len(s.hash))
		dup, next := 0, 0
		s.ngrams(n, func(i int, h uint64) {
			c := s.add(h)
			if i < next {
				return
			}
			if c > 1 {
				dup += s.charsOf(i, n)
				next = i + n
			}
		})
		if r := float64(dup) / float64(total); r > limit {
			return &Event{Stage: StageQuality, Rule: fmt.Sprintf("dup_%dgram", n), Detail: fmt.Sprintf("%.3g", r)}
		}
	}
	return nil
}

func sortedKeys(m map[int]float64) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
