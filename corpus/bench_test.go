package corpus_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/firebreak/firebreak/corpus"
	"github.com/firebreak/firebreak/corpus/corpustest"
	"github.com/firebreak/firebreak/internal/cputime"
	"github.com/firebreak/firebreak/safety"
)

func benchLines(n int) []corpus.Line {
	r := rand.New(rand.NewPCG(1, 2))
	sh := &corpus.Shard{Rel: "x.txt", Format: "text", Source: "x"}
	lines := make([]corpus.Line, n)
	for i := range lines {
		lang := []string{"zh", "en"}[i%2]
		lines[i] = corpus.Line{Shard: sh, N: int64(i + 1), Data: []byte(corpustest.Doc(r, lang, 2000))}
	}
	return lines
}

func BenchmarkProcess(b *testing.B) {
	lines := benchLines(200)
	var size int64
	for _, l := range lines {
		size += int64(len(l.Data))
	}
	// The matcher alone: the default policy's engine on the same texts,
	// the baseline of the unsafe stage.
	engine, err := corpus.LoadEngine("")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("engine-check", func(b *testing.B) {
		b.SetBytes(size)
		start := cputime.Process()
		for b.Loop() {
			for _, l := range lines {
				engine.Check(safety.Output, string(l.Data))
			}
		}
		cputime.Report(b, start, int(size))
	})
	off := false
	for _, stage := range []string{"all", "normalise", "unsafe", "pii", "quality", "language", "exact_dedup", "near_dedup"} {
		cfg := corpus.Config{}
		if stage != "all" {
			st := &cfg.Stages
			for name, sw := range map[string]*corpus.Switch{"normalise": &st.Normalise.Switch, "unsafe": &st.Unsafe.Switch,
				"pii": &st.PII.Switch, "quality": &st.Quality.Switch, "language": &st.Language.Switch,
				"exact_dedup": &st.Exact.Switch, "near_dedup": &st.Near.Switch} {
				if name != stage {
					sw.Enabled = &off
				}
			}
		}
		p, err := corpus.NewProcessor(cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(stage, func(b *testing.B) {
			b.SetBytes(size)
			start := cputime.Process()
			for b.Loop() {
				for _, l := range lines {
					p.Process(context.Background(), l)
				}
			}
			cputime.Report(b, start, int(size))
		})
	}
}

// BenchmarkParseLine reads the benchmark's documents as JSONL lines
// holding only the text field, the common line of a corpus (the fast
// read, no map).
func BenchmarkParseLine(b *testing.B) {
	docs := benchLines(200)
	sh := &corpus.Shard{Rel: "x.jsonl", Format: "jsonl", Source: "x"}
	lines := make([]corpus.Line, len(docs))
	size := 0
	for i, l := range docs {
		data, err := json.Marshal(map[string]string{"text": string(l.Data)})
		if err != nil {
			b.Fatal(err)
		}
		lines[i] = corpus.Line{Shard: sh, N: l.N, Data: data}
		size += len(data)
	}
	var cfg corpus.Config
	cfg.Input.TextField = "text" // the default, which Processor.Config fills in
	b.SetBytes(int64(size))
	start := cputime.Process()
	for b.Loop() {
		for _, l := range lines {
			if _, drop := cfg.ParseLine(l); drop != nil {
				b.Fatal(drop)
			}
		}
	}
	cputime.Report(b, start, size)
}

// TestWriteBenchCorpus writes the generated mixed zh/en corpus of the
// throughput benchmark (docs/benchmarks.md) when FIREBREAK_CORPUS_GEN
// names a folder; FIREBREAK_CORPUS_GEN_MB sets its size (default 1024).
func TestWriteBenchCorpus(t *testing.T) {
	dir := os.Getenv("FIREBREAK_CORPUS_GEN")
	if dir == "" {
		t.Skip("set FIREBREAK_CORPUS_GEN to a folder to write the benchmark corpus")
	}
	mb, _ := strconv.Atoi(os.Getenv("FIREBREAK_CORPUS_GEN_MB"))
	if mb <= 0 {
		mb = 1024
	}
	paths, err := corpustest.WriteMixed(dir, corpustest.MixedOptions{Bytes: int64(mb) << 20, Shards: max(mb/64, 2)})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d shards in %s", len(paths), dir)
}

// BenchmarkRun is a whole in-process run (read, stages, work files,
// external sort, output) over a generated 16 MB mixed corpus: the
// end-to-end cost per byte, for profiling (-cpuprofile) and for CPU MB/s
// per core.
func BenchmarkRun(b *testing.B) {
	in := b.TempDir()
	const size = 16 << 20
	if _, err := corpustest.WriteMixed(in, corpustest.MixedOptions{Bytes: size, Shards: 4}); err != nil {
		b.Fatal(err)
	}
	var read int64
	b.SetBytes(size)
	start := cputime.Process()
	for b.Loop() {
		m, err := corpus.Run(context.Background(), corpus.RunOptions{Input: in, Output: b.TempDir(), SortMemory: 16 << 20})
		if err != nil {
			b.Fatal(err)
		}
		read = m.Totals.Bytes
	}
	cputime.Report(b, start, int(read))
}
