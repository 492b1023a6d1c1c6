package lexicon

import (
	"fmt"
	"runtime"
	"testing"

	cfac "github.com/cloudflare/ahocorasick"
	coregx "github.com/coregx/ahocorasick"

	"github.com/firebreak/firebreak/internal/cputime"
)

const benchCorpusSize = 1 << 20

// BenchmarkMatch compares the lexicon (normalising as it goes) with the raw
// byte matching of cloudflare/ahocorasick and coregx/ahocorasick on the
// same mixed Chinese/English corpus and the same terms.
func BenchmarkMatch(b *testing.B) {
	corpus := genCorpus(benchCorpusSize, 1)
	data := []byte(corpus)
	for _, n := range []int{10_000, 100_000} {
		words := genTerms(n, 2)
		terms := make([]Term, len(words))
		raw := make([][]byte, len(words))
		for i, w := range words {
			terms[i] = Term{Text: w}
			raw[i] = []byte(w)
		}
		b.Run(fmt.Sprintf("terms=%d/firebreak", n), func(b *testing.B) {
			lx, err := New(terms, Options{})
			if err != nil {
				b.Fatal(err)
			}
			runtime.GC()
			b.SetBytes(int64(len(corpus)))
			var hits int
			cpu := cputime.Process()
			for b.Loop() {
				hits = len(lx.Find(corpus))
			}
			cputime.Report(b, cpu, len(corpus))
			b.ReportMetric(float64(hits), "hits")
		})
		b.Run(fmt.Sprintf("terms=%d/cloudflare", n), func(b *testing.B) {
			cf := cfac.NewMatcher(raw)
			runtime.GC()
			b.SetBytes(int64(len(data)))
			var hits int
			cpu := cputime.Process()
			for b.Loop() {
				hits = len(cf.MatchThreadSafe(data))
			}
			cputime.Report(b, cpu, len(data))
			b.ReportMetric(float64(hits), "distinct-terms")
		})
		b.Run(fmt.Sprintf("terms=%d/coregx-overlapping", n), func(b *testing.B) {
			ac := buildCoregx(b, raw)
			b.SetBytes(int64(len(data)))
			var hits int
			cpu := cputime.Process()
			for b.Loop() {
				hits = len(ac.FindAllOverlapping(data))
			}
			cputime.Report(b, cpu, len(data))
			b.ReportMetric(float64(hits), "hits")
		})
		b.Run(fmt.Sprintf("terms=%d/coregx-count", n), func(b *testing.B) {
			ac := buildCoregx(b, raw)
			b.SetBytes(int64(len(data)))
			var hits int
			cpu := cputime.Process()
			for b.Loop() {
				hits = ac.Count(data)
			}
			cputime.Report(b, cpu, len(data))
			b.ReportMetric(float64(hits), "hits")
		})
	}
}

func buildCoregx(b *testing.B, raw [][]byte) *coregx.Automaton {
	b.Helper()
	ac, err := coregx.NewBuilder().AddPatterns(raw).Build()
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	return ac
}

// BenchmarkCompile measures building a 100k-term lexicon.
func BenchmarkCompile(b *testing.B) {
	words := genTerms(100_000, 2)
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
