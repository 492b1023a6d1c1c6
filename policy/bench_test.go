package policy_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/eval/bank"
	"github.com/firebreak/firebreak/internal/cputime"
	"github.com/firebreak/firebreak/policy"
	"github.com/firebreak/firebreak/safety"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

// bigBundle generates a bundle of n distinct terms, half Chinese and half
// English, spread over the A1 and A2 codes, in one lexicon file per code,
// with the given overlays (each only changes actions).
func bigBundle(b testing.TB, n int, overlays string) *policy.Bundle {
	b.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	codes := []string{"A1a", "A1b", "A1c", "A1d", "A1e", "A1f", "A1g", "A1h", "A2a", "A2b", "A2c", "A2d", "A2e"}
	files := map[string][]byte{}
	lexicons := make([]strings.Builder, len(codes))
	for i := range n {
		lexicons[i%len(codes)].WriteString(genTerm(rng, i))
		lexicons[i%len(codes)].WriteByte('\n')
	}
	var spec strings.Builder
	spec.WriteString("format: 1\nlexicons:\n")
	for i, code := range codes {
		name := fmt.Sprintf("lexicons/%s.txt", code)
		files[name] = []byte(lexicons[i].String())
		fmt.Fprintf(&spec, "  - {file: %s, code: %s}\n", name, code)
	}
	spec.WriteString(overlays)
	files[policy.SpecFile] = []byte(spec.String())
	bb, err := policy.NewBundle(files)
	if err != nil {
		b.Fatal(err)
	}
	return bb
}

// genTerm makes a unique term: 3–6 Chinese characters or two to three
// English words, with the index folded in to keep it unique.
func genTerm(rng *rand.Rand, i int) string {
	if i%2 == 0 {
		var sb strings.Builder
		for range 3 + rng.IntN(4) {
			sb.WriteRune(rune(0x4e00 + rng.IntN(0x5000)))
		}
		for _, d := range fmt.Sprint(i) {
			sb.WriteRune(rune(0x4e00 + int(d-'0')*97))
		}
		return sb.String()
	}
	words := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"}
	return fmt.Sprintf("%s %s x%d", words[rng.IntN(10)], words[rng.IntN(10)], i)
}

// BenchmarkCompile100k compiles a 100k-term bundle: the base engine
// alone, and with a route and a tenant overlay (three engines, each with
// its own lexicon automaton). heap-MiB is what the compiled policy keeps.
func BenchmarkCompile100k(b *testing.B) {
	cases := []struct{ name, overlays string }{
		{"base", ""},
		{"base+2overlays", "overlays:\n  route:medical:\n    actions: [{code: A2, action: block}]\n  tenant:school:\n    actions: [{code: A1, direction: input, action: block}]\n"},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			bb := bigBundle(b, 100_000, tc.overlays)
			b.ReportAllocs()
			var c *policy.Compiled
			var before, after runtime.MemStats
			for b.Loop() {
				c = nil
				runtime.GC()
				runtime.ReadMemStats(&before)
				var err error
				if c, err = policy.CompileBundle(bb); err != nil {
					b.Fatal(err)
				}
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "heap-MiB")
			b.ReportMetric(float64(c.Base().Lexicon().Len()), "terms")
		})
	}
}

func BenchmarkEngineLookup(b *testing.B) {
	c := compile(b, bundle(b, testFiles(b), nil))
	cases := []struct{ name, route, tenant string }{
		{"base", "", ""}, {"route", "medical", ""}, {"tenant", "chat", "school"}, {"unknown", "chat", "acme"},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			var e *safety.Engine
			for i := 0; b.Loop(); i++ {
				e = c.Engine(tc.route, tc.tenant, i&1 == 1)
			}
			if e == nil {
				b.Fatal("no engine")
			}
		})
	}
}

// BenchmarkServiceEngine is the gateway's per-request call: an atomic
// load of the snapshot, then the lookup.
func BenchmarkServiceEngine(b *testing.B) {
	s := newService(b, storetest.Open(b, store.Options{DataDir: b.TempDir()}), nil)
	publish(b, s, bundle(b, testFiles(b), nil), "bench")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if s.Engine("medical", "school", true) == nil {
				b.Error("no engine")
			}
		}
	})
}

// BenchmarkDefaultPolicy is the default bundle's base engine on a 4 KB
// prompt and on a stream of 20-byte chunks of ordinary zh/en text (the
// development set's legitimate questions, repeated): with its lexicons
// only ("lexicon": the intents section removed) and as shipped
// ("intents"), in one run.
func BenchmarkDefaultPolicy(b *testing.B) {
	f, err := bank.Read("default/testdata/devset.jsonl")
	if err != nil {
		b.Fatal(err)
	}
	var sb strings.Builder
	for sb.Len() < 64<<10 {
		for _, it := range f.Items {
			if it.Bank == bank.ShouldNotRefuse {
				sb.WriteString(it.Prompt)
				sb.WriteString(" ")
			}
		}
	}
	long := sb.String()
	text := long[:strings.LastIndex(long[:4096], " ")]
	files := policy.Default().Files()
	spec := files[policy.SpecFile]
	noIntents := spec[:strings.Index(spec, "\nintents:\n")] + "\n" + spec[strings.Index(spec, "\npii:\n"):]
	for _, tc := range []struct{ name, spec string }{{"lexicon", noIntents}, {"intents", spec}} {
		files[policy.SpecFile] = tc.spec
		bb, err := policy.BundleFromText(files)
		if err != nil {
			b.Fatal(err)
		}
		e := compile(b, bb).Base()
		runtime.GC()
		b.Run(tc.name+"/check4KB", func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			b.ReportAllocs()
			cpu := cputime.Process()
			for b.Loop() {
				if d := e.Check(safety.Input, text); d.Action >= safety.Refuse {
					b.Fatalf("legitimate text refused: %+v", d.Hits)
				}
			}
			cputime.Report(b, cpu, len(text))
		})
		b.Run(tc.name+"/stream20", func(b *testing.B) {
			b.ReportAllocs()
			st, i := e.NewStream(safety.Output), 0
			released, held, writes := 0, 0, 0
			cpu := cputime.Process()
			for b.Loop() {
				if i+20 > len(long) {
					st.Close()
					st, i, released = e.NewStream(safety.Output), 0, 0
				}
				released += len(st.Write(long[i : i+20]).Release)
				i += 20
				held += i - released
				writes++
			}
			cputime.Report(b, cpu, 0)
			// How far the released text trails the written text, on average.
			b.ReportMetric(float64(held)/float64(writes), "held-B")
		})
	}
}
