package corpus

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"

	"github.com/cespare/xxhash/v2"
)

// NearConfig configures near-duplicate removal by MinHash with LSH banding.
//
// An item's shingles are its n-grams of tokens (Shingle tokens: words, or
// single Chinese characters). Its signature is a MinHash of Bands×Rows
// values, computed by one-permutation hashing (each shingle hash lands in
// one bin and the bin keeps its least hash) with rotation densification
// for empty bins (Shrivastava and Li, 2014): one hash per shingle instead
// of one per shingle and value, with the same collision probability, the
// Jaccard similarity of the shingle sets. Two items are near duplicates
// when all Rows values of at least one band agree, which happens with
// probability 1-(1-s^Rows)^Bands for items of Jaccard similarity s.
// With the defaults (20 bands of 10 rows): 0.02 at s=0.5, 0.11 at 0.6,
// 0.39 at 0.7, 0.90 at 0.8, 0.9998 at 0.9; the curve's midpoint is at
// s≈0.74. Candidates are not verified: the band match is the decision, as
// in the pipelines of Gopher and RefinedWeb. Of a group of items sharing a
// band, the first (by shard order and line) is kept.
type NearConfig struct {
	Switch  `yaml:",inline"`
	Shingle int `yaml:"shingle"` // tokens per shingle; default 5
	Bands   int `yaml:"bands"`   // default 20
	Rows    int `yaml:"rows"`    // values per band; default 10
}

func (c NearConfig) withDefaults() NearConfig {
	if c.Shingle == 0 {
		c.Shingle = 5
	}
	if c.Bands == 0 {
		c.Bands = 20
	}
	if c.Rows == 0 {
		c.Rows = 10
	}
	return c
}

func (c NearConfig) validate() error {
	c = c.withDefaults()
	if c.Shingle < 1 || c.Bands < 1 || c.Rows < 1 || c.Bands*c.Rows > 4096 || c.Bands > 1<<16 {
		return fmt.Errorf("stages.near_dedup: shingle, bands and rows must be positive, bands×rows at most 4096")
	}
	return nil
}

// Candidate is the probability that items of Jaccard similarity s share
// a band.
func (c NearConfig) Candidate(s float64) float64 {
	c = c.withDefaults()
	return 1 - math.Pow(1-math.Pow(s, float64(c.Rows)), float64(c.Bands))
}

// Threshold is the similarity at which the candidate curve is steepest,
// (1/Bands)^(1/Rows).
func (c NearConfig) Threshold() float64 {
	c = c.withDefaults()
	return math.Pow(1/float64(c.Bands), 1/float64(c.Rows))
}

// Key is a key of a global step: an exact-duplicate key (Kind 0: the
// text's hash and length) or a near-duplicate band (Kind 1+band: the
// band's hash).
type Key struct {
	Kind   uint32
	Hi, Lo uint64
}

// Bytes encodes the key for a runner's group by key.
func (k Key) Bytes() []byte {
	b := binary.BigEndian.AppendUint32(nil, k.Kind)
	b = binary.BigEndian.AppendUint64(b, k.Hi)
	return binary.BigEndian.AppendUint64(b, k.Lo)
}

// KeyKind returns the Kind of a key encoded by Bytes.
func KeyKind(b []byte) uint32 {
	if len(b) < 4 {
		return 0
	}
	return binary.BigEndian.Uint32(b)
}

// KindExact is the Kind of exact-duplicate keys.
const KindExact = 0

func exactKey(text string) Key {
	return Key{Kind: KindExact, Hi: xxhash.Sum64String(text), Lo: uint64(len(text))}
}

// bandKeys computes an item's MinHash signature and appends one Key per
// band.
func (c NearConfig) bandKeys(s *ngramScratch, text string, keys []Key) []Key {
	k := c.Bands * c.Rows
	if s.text != text || len(text) == 0 {
		s.load(text, false)
	}
	if cap(s.sig) < k {
		s.sig = make([]uint64, k)
	}
	sig := s.sig[:k]
	for i := range sig {
		sig[i] = math.MaxUint64
	}
	if len(s.hash) == 0 {
		minHash(sig, 0)
	} else {
		n := min(c.Shingle, len(s.hash))
		var r ngramHasher
		minHash(sig, r.first(s.hash, n))
		for i := 1; i+n <= len(s.hash); i++ {
			minHash(sig, r.next(s.hash[i-1], s.hash[i+n-1]))
		}
	}
	s.empty = densify(sig, s.empty)
	buf := s.band[:0]
	for b := 0; b < c.Bands; b++ {
		buf = buf[:0]
		for _, v := range sig[b*c.Rows : (b+1)*c.Rows] {
			buf = binary.LittleEndian.AppendUint64(buf, v)
		}
		keys = append(keys, Key{Kind: uint32(1 + b), Hi: xxhash.Sum64(buf)})
	}
	s.band = buf
	return keys
}

// minHash adds a shingle hash to a one-permutation signature: the mixed
// hash picks its bin, which keeps its least value.
func minHash(sig []uint64, h uint64) {
	h = mix64(h)
	bin, _ := bits.Mul64(h, uint64(len(sig)))
	sig[bin] = min(sig[bin], h)
}

// densify fills each empty bin from the nearest bin to its right
// (circularly) that was not empty, mixed with the distance, so that two
// items agree on an empty bin exactly when they agree on the bin it
// borrows from (rotation densification). empty is scratch space.
func densify(sig []uint64, empty []bool) []bool {
	k := len(sig)
	empty = append(empty[:0], make([]bool, k)...)
	any := false
	for i, v := range sig {
		empty[i] = v == math.MaxUint64
		any = any || empty[i]
	}
	if !any {
		return empty
	}
	for i := range sig {
		if !empty[i] {
			continue
		}
		for d := 1; d < k; d++ {
			if j := (i + d) % k; !empty[j] {
				sig[i] = mix64(sig[j] + uint64(d))
				break
			}
		}
	}
	return empty
}

// mix64 is SplitMix64's finaliser: it spreads the bits of a shingle hash.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
