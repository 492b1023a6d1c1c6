package textnorm

import (
	"fmt"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// An entry packs one rune's fold into 32 bits: the class in the top two
// bits; for a Letter, either the folded rune (0 meaning "itself", so that
// blocks of unchanged runes share storage) or, with multiBit set, an index
// into table.multi.
const (
	classShift  = 30
	multiBit    = 1 << 29
	payloadMask = multiBit - 1
	blockBits   = 8
	blockSize   = 1 << blockBits
)

// table is a two-level lookup over all of Unicode: top maps a 256-rune
// block to its storage in blocks; identical blocks are stored once.
type table struct {
	top    []uint16
	blocks []uint32
	multi  []string
	noise  map[rune]string // noise runes whose compatibility form differs
}

var (
	tableOnce [4]sync.Once
	tables    [4]*table
	tableErrs [4]error
)

func tableFor(o Options) *table {
	i := 0
	if o.KeepTraditional {
		i |= 1
	}
	if o.KeepLookalikes {
		i |= 2
	}
	tableOnce[i].Do(func() { tables[i], tableErrs[i] = buildTable(o) })
	if tableErrs[i] != nil {
		// The tables come from data compiled into the binary; failing to
		// read them is a build defect, not a runtime condition.
		panic(fmt.Sprintf("textnorm: build tables: %v", tableErrs[i]))
	}
	return tables[i]
}

func (t *table) entry(r rune) uint32 {
	if uint32(r) > unicode.MaxRune {
		r = utf8.RuneError
	}
	return t.blocks[int(t.top[r>>blockBits])<<blockBits|int(r&(blockSize-1))]
}

// appendFold appends the folded runes of r to dst.
func (t *table) appendFold(dst []rune, r rune) (Class, []rune) {
	e := t.entry(r)
	cls := Class(e >> classShift)
	if cls != Letter {
		return cls, dst
	}
	switch p := e & payloadMask; {
	case e&multiBit != 0:
		for _, x := range t.multi[p] {
			dst = append(dst, x)
		}
	case p == 0:
		dst = append(dst, r)
	default:
		dst = append(dst, rune(p))
	}
	return Letter, dst
}

func (t *table) noiseForm(r rune) string {
	if s, ok := t.noise[r]; ok {
		return s
	}
	return string(r)
}

// computedPlanes are folded rune by rune; the other planes hold no letters
// that need folding and map every rune to itself.
var computedPlanes = []rune{0, 1, 2, 3, 14}

func buildTable(o Options) (*table, error) {
	f, err := newFolder(o)
	if err != nil {
		return nil, err
	}
	t := &table{top: make([]uint16, (unicode.MaxRune+1)>>blockBits), noise: map[rune]string{}}
	seen := map[[blockSize]uint32]uint16{}
	var identity [blockSize]uint32
	add := func(b [blockSize]uint32) uint16 {
		if i, ok := seen[b]; ok {
			return i
		}
		i := uint16(len(t.blocks) >> blockBits)
		t.blocks = append(t.blocks, b[:]...)
		seen[b] = i
		return i
	}
	idIndex := add(identity)
	for i := range t.top {
		t.top[i] = idIndex
	}
	multiIndex := map[string]uint32{}
	for _, plane := range computedPlanes {
		for blk := plane << 16; blk < (plane+1)<<16; blk += blockSize {
			var b [blockSize]uint32
			for j := range blockSize {
				b[j] = t.encode(f, blk+rune(j), multiIndex)
			}
			t.top[blk>>blockBits] = add(b)
		}
	}
	return t, nil
}

func (t *table) encode(f *folder, r rune, multiIndex map[string]uint32) uint32 {
	cls, out := f.fold(r)
	if cls != Letter {
		if (cls == Noise || cls == Break) && len(out) > 0 && string(out) != string(r) {
			t.noise[r] = string(out)
		}
		return uint32(cls) << classShift
	}
	if len(out) == 1 {
		if out[0] == r {
			return 0
		}
		return uint32(out[0])
	}
	s := string(out)
	i, ok := multiIndex[s]
	if !ok {
		i = uint32(len(t.multi))
		t.multi = append(t.multi, s)
		multiIndex[s] = i
	}
	return multiBit | i
}

// folder computes the fold of one rune from first principles; the table
// caches its answers.
type folder struct {
	o      Options
	caser  cases.Caser
	t2s    map[rune]rune
	digits map[rune]string
}

func newFolder(o Options) (*folder, error) {
	f := &folder{o: o, caser: cases.Fold(), digits: digitFolds()}
	if !o.KeepTraditional {
		m, err := loadT2S()
		if err != nil {
			return nil, err
		}
		f.t2s = m
	}
	return f, nil
}

// fold returns the class of r and its folded runes: letters for a Letter,
// the compatibility form of a noise rune for Noise and Break.
func (f *folder) fold(r rune) (Class, []rune) {
	if isBreak(r) {
		return Break, []rune{r}
	}
	if isIgnorable(r) {
		return Ignore, nil
	}
	if r >= 0x10000 && !isAssigned(r) {
		return Noise, []rune{r}
	}
	if !f.quickIdentity(r) {
		return f.slowFold(r)
	}
	return Letter, []rune{r}
}

// quickIdentity is true for letters that no stage changes: most CJK
// characters, which keeps building the table fast.
func (f *folder) quickIdentity(r rune) bool {
	if r < 0x3400 || !unicode.Is(unicode.Lo, r) {
		return false
	}
	if _, ok := f.t2s[r]; ok {
		return false
	}
	if _, ok := lookalikes[r]; ok {
		return false
	}
	return norm.NFKC.IsNormalString(string(r))
}

func (f *folder) slowFold(r rune) (Class, []rune) {
	letters, hasBreak, hasNoise, noise := f.foldString(string(r))
	if len(letters) > 0 {
		// Folding again must change nothing, so repeat to a fixpoint.
		for range 3 {
			again, _, _, _ := f.foldString(string(letters))
			if string(again) == string(letters) {
				break
			}
			letters = again
		}
		return Letter, letters
	}
	switch {
	case hasBreak:
		return Break, noise
	case hasNoise:
		return Noise, noise
	}
	return Ignore, nil
}

// foldString runs the fold stages over s and sorts the result into letters
// and noise.
func (f *folder) foldString(s string) (letters []rune, hasBreak, hasNoise bool, noise []rune) {
	for _, x := range norm.NFKC.String(s) {
		switch {
		case isBreak(x):
			hasBreak = true
			noise = append(noise, x)
			continue
		case isIgnorable(x):
			continue
		}
		for _, y := range f.foldRune(x) {
			if isLetterish(y) {
				letters = append(letters, y)
			} else if !isIgnorable(y) {
				hasNoise = true
				noise = append(noise, y)
			}
		}
	}
	return letters, hasBreak, hasNoise, noise
}

// foldRune applies marks, look-alikes, case, traditional → simplified,
// letter variants and digits.
func (f *folder) foldRune(x rune) []rune {
	x = withoutMarks(x)
	if l, ok := letterVariants[x]; ok {
		x = l
	}
	if !f.o.KeepLookalikes {
		if l, ok := lookalikes[x]; ok {
			x = l
		}
	}
	var out []rune
	for _, y := range f.caser.String(string(x)) {
		if !f.o.KeepLookalikes {
			if l, ok := lookalikes[y]; ok {
				y = l
			}
		}
		if s, ok := f.t2s[y]; ok {
			y = s
		}
		if d, ok := f.digits[y]; ok {
			out = append(out, []rune(d)...)
			continue
		}
		out = append(out, y)
	}
	return out
}

// withoutMarks returns the base letter of a Latin, Greek, Cyrillic or
// Armenian letter written with marks ("ó", "ǐ", "ё" → "o", "i", "е"): a
// combining mark written apart is invisible (isIgnorable), so the same
// letter precomposed must read the same. Marks of other scripts stay
// (Japanese "ば" is not "は").
func withoutMarks(x rune) rune {
	if x < 0xC0 || !unicode.In(x, unicode.Latin, unicode.Greek, unicode.Cyrillic, unicode.Armenian) {
		return x
	}
	d := norm.NFD.String(string(x))
	base, n := utf8.DecodeRuneInString(d)
	if n == len(d) {
		return x
	}
	for _, m := range d[n:] {
		if !unicode.Is(unicode.Mn, m) {
			return x
		}
	}
	return base
}

func isAssigned(r rune) bool {
	return unicode.In(r, unicode.L, unicode.N, unicode.M, unicode.S, unicode.P, unicode.Z, unicode.C)
}

func isLetterish(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.Mc, r)
}

// isBreak: line and paragraph breaks and the ideographic full stop end a
// term in progress.
func isBreak(r rune) bool {
	switch r {
	case '\n', '\r', '\v', '\f', 0x85, 0x2028, 0x2029, 0x3002:
		return true
	}
	return false
}

// isIgnorable: invisible runes that evasions insert between characters.
func isIgnorable(r rune) bool {
	switch r {
	case '\t':
		return false
	case 0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800: // Hangul fillers, braille blank
		return true
	}
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Mn, unicode.Me,
		unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point)
}
