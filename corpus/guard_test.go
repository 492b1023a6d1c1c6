package corpus_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/firebreak/firebreak/corpus"
	"github.com/firebreak/firebreak/corpus/corpustest"
	"github.com/firebreak/firebreak/internal/fakeupstream"
)

// guardModel is a guard model on loopback that answers in Llama Guard 3's
// format: "unsafe\nS9" for the texts marked unsafe, a 500 for the texts
// marked broken, "safe" otherwise. It remembers every text it was asked
// about.
type guardModel struct {
	*fakeupstream.Server
	mu             sync.Mutex
	unsafe, broken map[string]bool
	asked          []string
}

func newGuardModel(t *testing.T) *guardModel {
	g := &guardModel{unsafe: map[string]bool{}, broken: map[string]bool{}}
	g.Server = fakeupstream.New(fakeupstream.Options{Script: func(req fakeupstream.Request) fakeupstream.Reply {
		text := req.Messages[len(req.Messages)-1].Content
		g.mu.Lock()
		defer g.mu.Unlock()
		g.asked = append(g.asked, text)
		switch {
		case g.broken[text]:
			return fakeupstream.Reply{Status: 500}
		case g.unsafe[text]:
			return fakeupstream.Reply{Text: "unsafe\nS9"}
		}
		return fakeupstream.Reply{Text: "safe"}
	}})
	t.Cleanup(g.Close)
	return g
}

func (g *guardModel) wasAsked(text string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, a := range g.asked {
		if a == text {
			return true
		}
	}
	return false
}

// TestUnsafeStageWithGuardModel cleans the small corpus with a guard model
// configured: an item the lexicon passes but the guard model calls unsafe
// is dropped by the unsafe stage with the guard's rule and risk code as
// evidence; an item the lexicon already caught is not sent to the guard;
// an item the guard fails on is kept when the guard fails open and dropped
// when it fails closed. The technical sample is then graded by the same
// guard model as its classifier.
func TestUnsafeStageWithGuardModel(t *testing.T) {
	dir := t.TempDir()
	small, err := corpustest.WriteSmall(dir)
	if err != nil {
		t.Fatal(err)
	}
	base, err := corpus.LoadConfig(small.Config)
	if err != nil {
		t.Fatal(err)
	}
	// A run without the guard gives the texts of the items as they reach
	// the unsafe stage (normalised; these two are clean and unique).
	plain := filepath.Join(dir, "plain")
	if _, err := corpus.Run(context.Background(), corpus.RunOptions{Input: small.Dir, Output: plain, Config: base}); err != nil {
		t.Fatal(err)
	}
	before, err := corpustest.ReadOutput(plain)
	if err != nil {
		t.Fatal(err)
	}
	flagged, broken := before.Items["news-13"].Text, before.Items["news-14"].Text
	if flagged == "" || broken == "" {
		t.Fatal("news-13 or news-14 not kept without a guard model")
	}

	g := newGuardModel(t)
	g.unsafe[flagged], g.broken[broken] = true, true
	for _, mode := range []string{"open", "closed"} {
		t.Run("fails "+mode, func(t *testing.T) {
			cfg := base
			cfg.Stages.Unsafe.Guard = &corpus.GuardConfig{BaseURL: g.URL, Model: "llama-guard-3", OnError: mode}
			out := filepath.Join(dir, "guard-"+mode)
			m, err := corpus.Run(context.Background(), corpus.RunOptions{Input: small.Dir, Output: out, Config: cfg})
			if err != nil {
				t.Fatal(err)
			}
			o, err := corpustest.ReadOutput(out)
			if err != nil {
				t.Fatal(err)
			}
			rec := o.Records["news-13"]
			if rec.Dropped == nil || rec.Dropped.Stage != corpus.StageUnsafe || !strings.HasPrefix(rec.Dropped.Rule, "guard:") ||
				len(rec.Evidence) == 0 || rec.Evidence[0].Code != "A1d" {
				t.Fatalf("news-13 (unsafe to the guard): %+v", rec)
			}
			_, kept := o.Items["news-14"]
			switch mode {
			case "open":
				if !kept {
					t.Errorf("news-14 (guard failed) dropped when failing open: %+v", o.Records["news-14"])
				}
			case "closed":
				if kept || o.Records["news-14"].Dropped == nil || !strings.Contains(o.Records["news-14"].Dropped.Detail, "guard failed closed") {
					t.Errorf("news-14 (guard failed) when failing closed: %+v", o.Records["news-14"])
				}
			}
			if m.Totals.Kept != int64(len(o.Items)) {
				t.Errorf("manifest keeps %d, %d items out", m.Totals.Kept, len(o.Items))
			}
			// forum-13 is caught by the lexicon: the guard is not asked.
			if lex := o.Records["forum-13"]; lex.Dropped == nil || len(lex.Evidence) == 0 || lex.Evidence[0].Detector == "guard" {
				t.Errorf("forum-13: %+v", lex)
			}
		})
	}

	// The technical sample of the run that failed open, graded by the
	// guard model as classifier: news-14 is in it (10% of every source
	// would miss it; 100% does not) and the guard fails on it.
	sample := filepath.Join(dir, "sample")
	info, err := corpus.Sample(context.Background(), corpus.SampleOptions{Corpus: filepath.Join(dir, "guard-open"), Out: sample, Manual: 10, Technical: 1})
	if err != nil {
		t.Fatal(err)
	}
	c := info.Classifier
	if c == nil || c.Errors != 1 || c.Fail != 0 || c.Pass+c.Errors != info.Technical {
		t.Fatalf("classifier grades %+v of %d technical items", c, info.Technical)
	}
	if !g.wasAsked(broken) {
		t.Error("the guard was never asked about news-14")
	}
}
