package corpus

import (
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/cespare/xxhash/v2"
)

// ngramScratch is one worker's reusable memory for the repetition rules.
type ngramScratch struct {
	hash                     []uint64 // token hashes
	chars                    []int32  // token lengths in characters
	ngramKeys                []uint64 // open-addressing n-gram table: keys (0: empty)
	ngramCounts              []int32  // and their counts
	text                     string   // what load tokenised
	runes                    runeStats
	phrases                  [maxPhraseGroups]int // qualityPhrases' counts
	counts                   [numScripts]int
	latinLen, enStop, zhStop int
	gopher                   uint8    // Gopher's stop words seen, one bit each
	lines                    []uint64 // line hashes (dup-line rule)
	sig                      []uint64 // MinHash signature
	empty                    []bool   // its empty bins
	band                     []byte   // one band's bytes
}

// load splits text into tokens and counts, in the same pass, what the
// quality and language rules need, once for all of them. A token is a
// single Han, kana or Hangul character, or a run of other letters and
// digits (a word): Chinese has no spaces between words, so its
// characters are its tokens. Tokens are substrings of text: nothing is
// allocated once the scratch slices have grown. With counts, it also
// counts the characters and phrases the quality rules measure (runes,
// phrases).
func (s *ngramScratch) load(text string, counts bool) {
	s.text = text
	s.hash, s.chars = s.hash[:0], s.chars[:0]
	s.counts = [numScripts]int{}
	s.latinLen, s.enStop, s.zhStop, s.gopher = 0, 0, 0, 0
	s.runes, s.phrases = runeStats{}, [maxPhraseGroups]int{}
	start, script := -1, scriptOther
	for i := 0; i < len(text); {
		c0 := text[i]
		if asciiWord[c0] != 0 {
			// A run of ASCII letters and digits, the bulk of English
			// text, in a loop of its own: what the loop below does for
			// each of them, without its tests of other classes.
			if start < 0 {
				start, script = i, scriptOther
			}
			j, letters := i, 0
			for ; j < len(text) && asciiWord[text[j]] != 0; j++ {
				if asciiWord[text[j]] == wordLatin {
					letters++
				}
			}
			if script == scriptOther && letters > 0 {
				script = scriptLatin // a word's script is that of its first letter
			}
			if counts { // runes.add of each: none is a space or '#'
				s.runes.chars += j - i
				s.runes.nonSpace += j - i
				s.runes.letters += letters
				for ; i < j; i++ {
					if asciiPhrase[text[i]] {
						qualityPhrases.countAt(text[i:], rune(text[i]), &s.phrases)
					}
				}
			}
			i = j
			continue
		}
		if c0 >= 0xe4 && c0 <= 0xe9 && hanAt(text, i) != 0 {
			// A run of common Han characters, each a token, likewise.
			if start >= 0 {
				s.word(text, start, i, script)
				start = -1
			}
			i = s.hanRun(text, i, counts)
			continue
		}
		r, size := rune(c0), 1
		if c0 >= utf8.RuneSelf {
			// Three-byte sequences (Chinese, CJK punctuation) decoded
			// inline; E0 and ED, whose second byte is further bounded,
			// and the others take the call.
			if c0 >= 0xe1 && c0 <= 0xef && c0 != 0xed && i+2 < len(text) &&
				text[i+1]&0xc0 == 0x80 && text[i+2]&0xc0 == 0x80 {
				r, size = rune(c0&0x0f)<<12|rune(text[i+1]&0x3f)<<6|rune(text[i+2]&0x3f), 3
			} else {
				r, size = utf8.DecodeRuneInString(text[i:])
			}
		}
		var sc int
		var word bool
		switch { // the common runes without a call
		case r < utf8.RuneSelf:
			sc, word = int(asciiClass[r].script), asciiClass[r].word
		case r >= 0x4e00 && r <= 0x9fff:
			sc, word = scriptHan, true
		case r >= punctLo && r < punctHi:
			sc, word = int(punctClass[r-punctLo].script), punctClass[r-punctLo].word
		case r >= wideLo && r < wideHi:
			sc, word = int(wideClass[r-wideLo].script), wideClass[r-wideLo].word
		default:
			sc, word = runeScript(r)
		}
		if counts {
			s.runes.add(r, word)
			qualityPhrases.countAt(text[i:], r, &s.phrases)
		}
		switch {
		case sc == scriptHan || sc == scriptKana || sc == scriptHangul:
			if start >= 0 {
				s.word(text, start, i, script)
				start = -1
			}
			if sc == scriptHan {
				s.han(text[i:i+size], r)
			} else {
				s.token(text[i:i+size], sc)
			}
		case word:
			if start < 0 {
				start, script = i, sc
			} else if script == scriptOther && sc != scriptOther {
				script = sc // a word's script is that of its first letter
			}
		case start >= 0:
			s.word(text, start, i, script)
			start = -1
		}
		i += size
	}
	if start >= 0 {
		s.word(text, start, len(text), script)
	}
}

// hanAt returns the rune at text[i] if it is a Han character of
// U+4E00 to U+9FFF (three bytes), else 0.
func hanAt(text string, i int) rune {
	if i+2 >= len(text) {
		return 0
	}
	c0, c1, c2 := text[i], text[i+1], text[i+2]
	if c0 < 0xe4 || c0 > 0xe9 || c1&0xc0 != 0x80 || c2&0xc0 != 0x80 {
		return 0
	}
	r := rune(c0&0x0f)<<12 | rune(c1&0x3f)<<6 | rune(c2&0x3f)
	if r < 0x4e00 {
		return 0
	}
	return r
}

// hanRun adds the run of Han characters (hanAt) at text[i] as tokens,
// as load does one by one, and returns where it ends.
func (s *ngramScratch) hanRun(text string, i int, counts bool) int {
	n := 0
	for r := hanAt(text, i); r != 0; r = hanAt(text, i) {
		if counts {
			qualityPhrases.countAt(text[i:], r, &s.phrases)
		}
		s.han(text[i:i+3], r)
		i += 3
		n++
	}
	if counts { // runes.add of each: a letter, not a space
		s.runes.chars += n
		s.runes.nonSpace += n
		s.runes.letters += n
	}
	return i
}

// runeStats are the character counts of the quality rules.
type runeStats struct {
	chars, nonSpace, letters, symbols int
}

// add counts a rune; word is runeScript's.
func (c *runeStats) add(r rune, word bool) {
	c.chars++
	if r < utf8.RuneSelf {
		switch {
		case r == ' ' || r == '\n' || r == '\t':
			return
		case r == '#':
			c.symbols++
		case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
			c.letters++
		}
		c.nonSpace++
		return
	}
	c.nonSpace++
	if r == '…' {
		c.symbols++
	}
	if word {
		c.letters++
	}
}

// han adds a Han character r (tok) as a token: token's case for Han,
// with r at hand.
func (s *ngramScratch) han(tok string, r rune) {
	if len(tok) == 3 { // tokenHash of three bytes
		s.hash = append(s.hash, mix64(3<<56|uint64(tok[0])|uint64(tok[1])<<8|uint64(tok[2])<<16))
	} else {
		s.hash = append(s.hash, tokenHash(tok))
	}
	s.counts[scriptHan]++
	s.chars = append(s.chars, 1)
	if zhStopRune(r) {
		s.zhStop++
	}
}

// zhStopRune reports Chinese function characters, counted by the
// quality stage's stop-word rule (QualityConfig.MinStopwords).
func zhStopRune(r rune) bool { return zhStopSet.has(r) }

// zhStopSet holds the runes of zhStopChars.
var zhStopSet = func() *runeSet {
	var s runeSet
	for _, r := range zhStopChars {
		s[r/64] |= 1 << (r % 64)
	}
	return &s
}()

// runeClass is runeScript's answer for one rune.
type runeClass struct {
	script uint8
	word   bool
}

// classes returns runeScript of the n runes from lo.
func classes(lo rune, n int) []runeClass {
	t := make([]runeClass, n)
	for i := range t {
		sc, word := runeScript(lo + rune(i))
		t[i] = runeClass{uint8(sc), word}
	}
	return t
}

// asciiClass is runeScript of each ASCII character, punctClass of the
// general and CJK punctuation (U+2000 to U+303F), wideClass of the
// full-width forms: the runes of Chinese and English text that are not
// letters, looked up instead of classified.
var (
	asciiClass = classes(0, utf8.RuneSelf)
	asciiWord  = func() (t [256]uint8) {
		for c, k := range asciiClass {
			switch {
			case k.word && k.script == scriptLatin:
				t[c] = wordLatin
			case k.word:
				t[c] = wordOther
			}
		}
		return t
	}()
	punctClass = classes(punctLo, punctHi-punctLo)
	wideClass  = classes(wideLo, wideHi-wideLo)
)

// asciiPhrase marks the ASCII bytes that start a phrase of
// qualityPhrases.
var asciiPhrase = func() (t [256]bool) {
	for c := range utf8.RuneSelf {
		t[c] = qualityPhrases.first[c/64]&(1<<(c%64)) != 0
	}
	return t
}()

// asciiWord's marks: the ASCII bytes of words, digits and ' and _
// (wordOther) or letters (wordLatin); 0 for the others and from 0x80.
const (
	wordOther = 1 + iota
	wordLatin
)

const (
	punctLo, punctHi = 0x2000, 0x3040
	wideLo, wideHi   = 0xff00, 0xfff0
)

// token adds one token of load other than a Han character.
func (s *ngramScratch) token(tok string, script int) {
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
	default:
		s.chars = append(s.chars, int32(utf8.RuneCountInString(tok)))
	}
}

// word adds the word text[start:end] of the script as a token.
func (s *ngramScratch) word(text string, start, end, script int) {
	if script == scriptLatin && end-start <= 8 {
		s.shortLatin(text, start, end)
		return
	}
	s.token(text[start:end], script)
}

// shortLatin is token's case for a Latin word of at most 8 bytes, most
// of them: its hash, its length in runes and its stop-word key from one
// read of its bytes (one 8-byte load where the text goes on that far).
func (s *ngramScratch) shortLatin(text string, start, end int) {
	tok := text[start:end]
	var x uint64
	if start+8 <= len(text) {
		x = le64(text[start:]) & (1<<(8*len(tok)) - 1)
	} else {
		for i := 0; i < len(tok); i++ {
			x |= uint64(tok[i]) << (8 * i)
		}
	}
	s.hash = append(s.hash, mix64(x^uint64(len(tok))<<56)) // tokenHash
	s.counts[scriptLatin]++
	n := len(tok)
	if x&0x8080808080808080 != 0 {
		n = utf8.RuneCountInString(tok)
	}
	s.chars = append(s.chars, int32(n))
	s.latinLen += n
	if len(tok) > 5 {
		return
	}
	// Stop words are at most 5 letters. OR 0x20 lower-cases A-Z and maps
	// no other byte to a lower-case letter, so a token matches exactly
	// when it is the word in any case.
	if v := stopwords.get(uint64(len(tok))<<56 | x | lower20[len(tok)]); v != 0 {
		if v&stopEnglish != 0 {
			s.enStop++
		}
		if g := v &^ stopEnglish; g != 0 {
			s.gopher |= 1 << (g - 1)
		}
	}
}

// le64 reads the first 8 bytes of s, little-endian (one load).
func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// lower20 sets bit 5 of each of the first n bytes.
var lower20 = [6]uint64{0, 0x20, 0x2020, 0x202020, 0x20202020, 0x2020202020}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// stopTable maps a word of at most 5 lower-case letters, packed as
// shortLatin packs it, to stopEnglish (enStopword) and 1 + its index in
// gopherStop: a look-up with no string built or compared.
type stopTable struct {
	key [64]uint64
	val [64]uint8
}

const stopEnglish = 0x80

var stopwords = func() *stopTable {
	t := new(stopTable)
	words := map[string]uint8{}
	for _, w := range enStopwordList {
		words[w] |= stopEnglish
	}
	for i, w := range gopherStop {
		words[w] |= uint8(i + 1)
	}
	for w, v := range words {
		x := uint64(len(w)) << 56
		for i := 0; i < len(w); i++ {
			x |= uint64(w[i]) << (8 * i)
		}
		i := stopSlot(x)
		for t.key[i] != 0 {
			i = (i + 1) % 64
		}
		t.key[i], t.val[i] = x, v
	}
	return t
}()

func stopSlot(x uint64) int { return int(x * 0x9e3779b97f4a7c15 >> 58) }

func (t *stopTable) get(x uint64) uint8 {
	for i := stopSlot(x); t.key[i] != 0; i = (i + 1) % 64 {
		if t.key[i] == x {
			return t.val[i]
		}
	}
	return 0
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
	if cap(s.ngramKeys) < size {
		s.ngramKeys, s.ngramCounts = make([]uint64, size), make([]int32, size)
	}
	s.ngramKeys, s.ngramCounts = s.ngramKeys[:size], s.ngramCounts[:size]
	clear(s.ngramKeys)
}

// add counts key and returns its new count. The keys are probed apart
// from the counts: eight to a cache line.
func (s *ngramScratch) add(key uint64) int32 {
	key |= 1 // 0 marks an empty slot
	keys, counts := s.ngramKeys, s.ngramCounts[:len(s.ngramKeys)]
	mask := uint64(len(keys) - 1)
	for i := (key * 0x9e3779b97f4a7c15) >> 7 & mask; ; i = (i + 1) & mask {
		switch keys[i] {
		case key:
			counts[i]++
			return counts[i]
		case 0:
			keys[i], counts[i] = key, 1
			return 1
		}
	}
}

const ngramMul = 0x100000001b3

// ngramHasher is a rolling polynomial hash over a window of n token
// hashes: a loop over its positions costs no call per n-gram.
type ngramHasher struct {
	h, top uint64
}

// first returns the hash of the n-gram at 0 of hash (len(hash) >= n).
func (r *ngramHasher) first(hash []uint64, n int) uint64 {
	r.h, r.top = 0, 1
	for k := 0; k < n; k++ {
		r.h = r.h*ngramMul + hash[k]
		if k > 0 {
			r.top *= ngramMul
		}
	}
	return r.h
}

// next slides the window from the n-gram ending before in to the one
// ending at in, dropping out.
func (r *ngramHasher) next(out, in uint64) uint64 {
	r.h = (r.h-out*r.top)*ngramMul + in
	return r.h
}

// topNgram returns the count of the most frequent n-gram of tokens and
// where it first reached that count.
func (s *ngramScratch) topNgram(n int) (int32, int) {
	hash := s.hash
	if len(hash) < n {
		return 0, 0
	}
	s.reset(len(hash))
	var r ngramHasher
	best, at := s.add(r.first(hash, n)), 0
	for i := 1; i+n <= len(hash); i++ {
		if c := s.add(r.next(hash[i-1], hash[i+n-1])); c > best {
			best, at = c, i
		}
	}
	return best, at
}

// dupNgramChars returns the characters in n-grams of tokens seen before
// (a repeat skips past itself, as in Gopher's reference code, so
// overlapping repeats count once).
func (s *ngramScratch) dupNgramChars(n int) int {
	hash := s.hash
	if len(hash) < n {
		return 0
	}
	s.reset(len(hash))
	var r ngramHasher
	dup, end := 0, 0
	h := r.first(hash, n)
	for i := 0; ; i++ {
		if s.add(h) > 1 {
			for j := max(i, end); j < i+n; j++ {
				dup += int(s.chars[j])
			}
			end = i + n
		}
		if i+n >= len(hash) {
			return dup
		}
		h = r.next(hash[i], hash[i+n])
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
	// The most frequent n-gram occurs at most as often as the most
	// frequent shorter one (its prefix occurs wherever it does), and
	// covers at most the widest n tokens: when that bound is under the
	// limit, the rule cannot fire and its table is not built.
	bound := int32(-1)
	for _, n := range q.top {
		limit := q.c.TopNgram[n]
		if limit <= 0 {
			continue
		}
		if bound >= 0 && float64(int(bound)*s.widest(n))/float64(total) <= limit {
			continue
		}
		best, at := s.topNgram(n)
		bound = best
		if best > 1 {
			if r := float64(int(best)*s.charsOf(at, n)) / float64(total); r > limit {
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
		r := float64(s.dupNgramChars(n)) / float64(total)
		if r > limit {
			return &Event{Stage: StageQuality, Rule: fmt.Sprintf("dup_%dgram", n), Detail: fmt.Sprintf("%.3g", r)}
		}
		if r <= q.minDupLimit(k+1) {
			break
		}
	}
	return nil
}

// widest returns the most characters in n consecutive tokens.
func (s *ngramScratch) widest(n int) int {
	if len(s.chars) < n {
		return 0
	}
	w := s.charsOf(0, n)
	best := w
	for i := n; i < len(s.chars); i++ {
		w += int(s.chars[i]) - int(s.chars[i-n])
		best = max(best, w)
	}
	return best
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
