package corpusbeam

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"

	"github.com/firebreak/firebreak/corpus"
	"github.com/firebreak/firebreak/corpus/corpustest"
)

// TestPrismEqualsInProcess runs the pipeline on Beam's Prism runner and
// the in-process runner over the same corpora, and requires the same
// output item for item, record for record, with the same per-source
// statistics and blacklist.
func TestPrismEqualsInProcess(t *testing.T) {
	dir := t.TempDir()
	small, err := corpustest.WriteSmall(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := corpus.LoadConfig(small.Config)
	if err != nil {
		t.Fatal(err)
	}
	mixed := filepath.Join(dir, "mixed")
	if _, err := corpustest.WriteMixed(mixed, corpustest.MixedOptions{Bytes: 3 << 20, Shards: 4, Sources: 2, Suffix: ".gz"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, input string
		cfg         corpus.Config
		small       bool
	}{{"small", small.Dir, cfg, true}, {"mixed", mixed, corpus.Config{}, false}} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			local, remote := filepath.Join(dir, c.name+"-local"), filepath.Join(dir, c.name+"-beam")
			if _, err := corpus.Run(ctx, corpus.RunOptions{Input: c.input, Output: local, Config: c.cfg}); err != nil {
				t.Fatal(err)
			}
			pl, err := New(Options{Input: c.input, Output: remote, Config: c.cfg})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := prism.Execute(ctx, pl.Pipeline); err != nil {
				t.Fatal(err)
			}
			m, err := pl.WriteManifest(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if m.Runner != "beam" || m.Totals.Items == 0 {
				t.Fatalf("manifest %+v", m.Totals)
			}
			a, err := corpustest.ReadOutput(local)
			if err != nil {
				t.Fatal(err)
			}
			b, err := corpustest.ReadOutput(remote)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range corpustest.Diff(a, b) {
				t.Error(d)
			}
			if c.small {
				for _, d := range small.Check(b) {
					t.Error(d)
				}
			}
		})
	}
}

func TestMain(m *testing.M) {
	beam.Init()
	os.Exit(m.Run())
}
