package lexicon

import (
	"fmt"
	"runtime"
	"testing"

	cfac "github.com/cloudflare/ahocorasick"
	coregx "github.com/coregx/ahocorasick"

	"github.com/firebreak/firebreak/internal/benchtext"
	"github.com/firebreak/firebreak/internal/cputime"
)

// benchCorpusSize is the corpus of BenchmarkMatch: 8 MiB, larger than the
// caches, as corpus cleaning reads it.
const benchCorpusSize = 8 << 20

// comparator is a byte-level multi-pattern matcher the lexicon is measured
// against: build compiles the terms as raw bytes and returns a function
// that counts the hits in data.
type comparator struct {
	name  string
	build func(b *testing.B, terms [][]byte) (count func(data []byte) int)
}

// comparators are the pure-Go libraries; a build-tagged file adds
// Hyperscan (bench_hyperscan_test.go, go test -tags hyperscan).
var comparators = []comparator{
	{"cloudflare", func(b *testing.B, terms [][]byte) func([]byte) int {
		m := cfac.NewMatcher(terms)
		return func(data []byte) int { return len(m.MatchThreadSafe(data)) } // distinct terms found
	}},
	{"coregx-overlapping", func(b *testing.B, terms [][]byte) func([]byte) int {
		ac := buildCoregx(b, terms)
		return func(data []byte) int { return len(ac.FindAllOverlapping(data)) }
	}},
	{"coregx-count", func(b *testing.B, terms [][]byte) func([]byte) int {
		ac := buildCoregx(b, terms)
		return ac.Count
	}},
}

// BenchmarkMatch compares the lexicon (normalising as it goes) with the raw
// byte matching of the comparators, on the same 8 MiB mixed Chinese/English
// corpus and the same terms, 10k and 100k of them: with hits (terms drawn
// from the corpus's own characters and words, about one hit every 16 to 80
// bytes) and without (the same terms with their last character or word
// swapped for one the corpus never holds: every prefix occurs as often, no
// term completes).
func BenchmarkMatch(b *testing.B) {
	corpus := benchtext.Corpus(benchCorpusSize, 1)
	data := []byte(corpus)
	for _, n := range []int{10_000, 100_000} {
		for _, hits := range []string{"many", "none"} {
			words := benchtext.Terms(n, 2)
			if hits == "none" {
				words = benchtext.WithoutHits(words)
			}
			terms := make([]Term, len(words))
			raw := make([][]byte, len(words))
			for i, w := range words {
				terms[i] = Term{Text: w}
				raw[i] = []byte(w)
			}
			prefix := fmt.Sprintf("terms=%d/hits=%s/", n, hits)
			b.Run(prefix+"firebreak", func(b *testing.B) {
				lx, err := New(terms, Options{})
				if err != nil {
					b.Fatal(err)
				}
				benchCount(b, len(data), func() int { return len(lx.Find(corpus)) })
			})
			for _, c := range comparators {
				b.Run(prefix+c.name, func(b *testing.B) {
					count := c.build(b, raw)
					benchCount(b, len(data), func() int { return count(data) })
				})
			}
		}
	}
}

// benchCount runs count over a corpus of size bytes and reports the CPU
// time and the hits it counted.
func benchCount(b *testing.B, size int, count func() int) {
	b.Helper()
	runtime.GC()
	b.SetBytes(int64(size))
	var hits int
	cpu := cputime.Process()
	b.ResetTimer()
	for b.Loop() {
		hits = count()
	}
	cputime.Report(b, cpu, size)
	b.ReportMetric(float64(hits), "hits")
}

func buildCoregx(b *testing.B, raw [][]byte) *coregx.Automaton {
	b.Helper()
	ac, err := coregx.NewBuilder().AddPatterns(raw).Build()
	if err != nil {
		b.Fatal(err)
	}
	return ac
}

// BenchmarkCompile measures building a 100k-term lexicon.
func BenchmarkCompile(b *testing.B) {
	words := benchtext.Terms(100_000, 2)
	terms := make([]Term, len(words))
	for i, w := range words {
		terms[i] = Term{Text: w}
	}
	b.ReportAllocs()
	var lx *Lexicon
	cpu := cputime.Process()
	for b.Loop() {
		var err error
		if lx, err = New(terms, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	cputime.Report(b, cpu, 0)
	st := lx.Stats()
	b.ReportMetric(float64(st.States), "states")
	b.ReportMetric(float64(st.Bytes)/(1<<20), "MB")
	runtime.KeepAlive(lx)
}
