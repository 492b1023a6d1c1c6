package corpus_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/corpus"
	"github.com/firebreak/firebreak/corpus/corpustest"
	"github.com/firebreak/firebreak/eval/grade"
	"github.com/firebreak/firebreak/eval/stats"
)

// TestSampleAndReport cleans the small corpus twice — with and without
// the unsafe stage — draws both samples, grades the manual one through a
// grading file, and checks the verdicts the report gives.
func TestSampleAndReport(t *testing.T) {
	dir := t.TempDir()
	small, err := corpustest.WriteSmall(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := corpus.LoadConfig(small.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	off := false
	noUnsafe := cfg
	noUnsafe.Stages.Unsafe.Enabled = &off
	for _, c := range []struct {
		name       string
		cfg        corpus.Config
		keywordBad int
	}{{"cleaned", cfg, 0}, {"unsafe-stage-off", noUnsafe, 3}} {
		t.Run(c.name, func(t *testing.T) {
			out, sample := filepath.Join(dir, c.name), filepath.Join(dir, c.name+"-sample")
			m, err := corpus.Run(ctx, corpus.RunOptions{Input: small.Dir, Output: out, Config: c.cfg})
			if err != nil {
				t.Fatal(err)
			}
			info, err := corpus.Sample(ctx, corpus.SampleOptions{Corpus: out, Out: sample, Manual: 30, Technical: 1})
			if err != nil {
				t.Fatal(err)
			}
			if info.Manual != 30 || int64(info.Technical) != m.Totals.Kept || info.Keyword.Fail != c.keywordBad {
				t.Fatalf("manual %d, technical %d of %d, keyword %+v", info.Manual, info.Technical, m.Totals.Kept, info.Keyword)
			}
			sum := 0
			for _, n := range info.ManualBy {
				sum += n
			}
			if sum != 30 || info.ManualBy["news"] <= info.ManualBy["blog"]/2 {
				t.Errorf("allocation %v", info.ManualBy)
			}
			// Grade all but one item pass, one fail.
			grades := filepath.Join(sample, "graded.jsonl")
			gradeAll(t, filepath.Join(sample, corpus.GradingName), grades)
			r, err := corpus.Report(ctx, sample, grade.GradingFile{grades})
			if err != nil {
				t.Fatal(err)
			}
			if err := r.WriteReport(sample); err != nil {
				t.Fatal(err)
			}
			want := []stats.Status{stats.NotMet, stats.Undecided, stats.Met, stats.Undecided, stats.Undecided, stats.Met}
			if c.keywordBad > 0 {
				want[3] = stats.Undecided // 3 of 89 fail: the interval straddles 98%
				want[5] = stats.Undecided // no unsafe stage: no rate was measured
			}
			for i, ch := range r.Checks {
				if ch.Status != want[i] {
					t.Errorf("%s: %s (%s), want %s", ch.Clause, ch.Status, ch.Evidence, want[i])
				}
			}
			if !strings.Contains(r.Checks[1].Evidence, "29 pass, 1 fail, 0 not yet graded") {
				t.Errorf("manual evidence: %s", r.Checks[1].Evidence)
			}
			for _, f := range []string{"report.json", "report.md", "report.html"} {
				b, err := os.ReadFile(filepath.Join(sample, f))
				if err != nil || !strings.Contains(string(b), "待定") {
					t.Errorf("%s: %v", f, err)
				}
			}
		})
	}
}

func gradeAll(t *testing.T, from, to string) {
	t.Helper()
	f, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []byte
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for i := 0; sc.Scan(); i++ {
		var h grade.HumanGrade
		if err := json.Unmarshal(sc.Bytes(), &h); err != nil {
			t.Fatal(err)
		}
		if h.Answer == "" || h.Bank == "" {
			t.Fatalf("grading line without text or source: %s", sc.Bytes())
		}
		h.Verdict, h.By = grade.Pass, "tester"
		if i == 0 {
			h.Verdict = grade.Fail
		}
		b, _ := json.Marshal(grade.HumanGrade{ID: h.ID, Verdict: h.Verdict, By: h.By})
		out = append(append(out, b...), '\n')
	}
	if err := os.WriteFile(to, out, 0o644); err != nil {
		t.Fatal(err)
	}
}
