package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/firebreak/firebreak/corpus/corpustest"
	"github.com/firebreak/firebreak/eval"
	"github.com/firebreak/firebreak/eval/bank"
)

// TestSamplesGradedOnTheDesk is the standard's manual samples worked on
// the review desk: a cleaned corpus is sampled with --desk and an
// evaluation run with --desk sends its generated-content items; a
// reviewer grades the five items in headless Chromium with the keyboard
// (j, then n, n and a violation with its risk code for the corpus; n and
// a violation for the evaluation), and corpus report --desk and eval
// report --desk read the grades back: before grading every corpus item
// counts as not graded, after it two pass and one fails, and the
// evaluation's human grader has one pass of two. Sending a sample again
// adds nothing.
func TestSamplesGradedOnTheDesk(t *testing.T) {
	ctx := browserContext(t)
	dir := artifacts(t)
	work := t.TempDir()
	// No second reviewer: every first decision is the grade.
	cfg := filepath.Join(work, "firebreak.yaml")
	if err := os.WriteFile(cfg, []byte("review:\n  dual_share: 0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--data", t.TempDir(), "--config", cfg)
	small, err := corpustest.WriteSmall(work)
	if err != nil {
		t.Fatal(err)
	}
	cleaned, sample := filepath.Join(work, "cleaned"), filepath.Join(work, "sample")
	var stdout, stderr strings.Builder
	if err := run(context.Background(), []string{"corpus", "clean", small.Dir, "--out", cleaned, "--config", small.Config, "--quiet"}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	args := []string{"corpus", "sample", cleaned, "--out", sample, "--manual", "3", "--desk", "corpus-test"}
	if out, err := s.cli(t, args...); err != nil || !strings.Contains(out, "grading set corpus-test, 3 items, 3 new") {
		t.Fatalf("sample --desk: %v\n%s", err, out)
	}
	if out, err := s.cli(t, args...); err != nil || !strings.Contains(out, "3 items, 0 new") {
		t.Fatalf("sample --desk again: %v\n%s", err, out)
	}
	if out, err := s.cli(t, "corpus", "report", sample, "--desk", "corpus-test"); err != nil || !strings.Contains(out, "0 pass, 0 fail, 3 not yet graded") {
		t.Fatalf("report before grading: %v\n%s", err, out)
	}
	up := refusingUpstream(t)
	run := filepath.Join(work, "run")
	evalArgs := []string{"eval", "run", "--starter", "--base-url", up.URL, "--model", "fake-model", "--out", run,
		"--no-cache", "--progress", "none", "--sample", "generated-content=2", "--sample", "should-refuse=1",
		"--sample", "should-not-refuse=1", "--desk", "eval-test"}
	if out, err := s.cli(t, evalArgs...); err != nil || !strings.Contains(out, "grading set eval-test, 2 items, 2 new") {
		t.Fatalf("eval run --desk: %v\n%s", err, out)
	}

	pw := "a long passphrase for the console"
	if out, err := s.cli(t, "staff", "create", "--name", "grader", "--role", "reviewer", "--password-file", s.passwordFile(t, pw)); err != nil {
		t.Fatalf("reviewer: %v %s", err, out)
	}
	if err := browserLogin(ctx, s.url, "grader", pw); err != nil {
		t.Fatal(err)
	}
	runSteps(t, ctx, dir, "grading", 30*time.Second, []step{
		{"open the desk", chromedp.Navigate(s.url + "/console/review")},
		{"queue", chromedp.WaitVisible("#review-queue")},
		{"claim the next item with j", chromedp.KeyEvent("j")},
		{"first text", chromedp.WaitVisible("#grading-text")},
		{"pass it with n", leaves(chromedp.KeyEvent("n"))},
		{"second text", chromedp.WaitVisible("#grading-text")},
		{"pass it with n", leaves(chromedp.KeyEvent("n"))},
		{"third text", chromedp.WaitVisible("#grading-text")},
		{"risk code", chromedp.SetValue("#review-code", "A1a")},
		{"fail it", leaves(chromedp.Click("#decide-violation"))},
		{"the evaluation's first answer", chromedp.WaitVisible("#grading-text")},
		{"pass it with n", leaves(chromedp.KeyEvent("n"))},
		{"the evaluation's second answer", chromedp.WaitVisible("#grading-text")},
		{"risk code", chromedp.SetValue("#review-code", "A3a")},
		{"fail it", chromedp.Click("#decide-violation")},
		{"back on the desk", chromedp.WaitVisible("#review-queue")},
	})
	screenshot(t, ctx, dir, "grading-done")
	out, err := s.cli(t, "corpus", "report", sample, "--desk", "corpus-test")
	if err != nil || !strings.Contains(out, "2 pass, 1 fail, 0 not yet graded") {
		t.Fatalf("report after grading: %v\n%s", err, out)
	}
	if _, err := s.cli(t, "corpus", "report", sample, "--desk", "corpus-test", "--grades", "x.jsonl"); err == nil {
		t.Fatal("--desk with --grades accepted")
	}
	if out, err := s.cli(t, "eval", "report", run, "--desk", "eval-test"); err != nil {
		t.Fatalf("eval report --desk: %v\n%s", err, out)
	}
	r := readReport(t, run)
	var human *eval.Threshold
	for i, th := range r.Results.Thresholds {
		if th.Bank == bank.GeneratedContent && th.Grader == "human" {
			human = &r.Results.Thresholds[i]
		}
	}
	if r.Results.Totals.HumanGraded != 2 || human == nil || human.Judgement.K != 1 || human.Judgement.N != 2 {
		t.Fatalf("evaluation's human grades: %d graded, threshold %+v", r.Results.Totals.HumanGraded, human)
	}
}

// leaves runs act and waits until the browser is on another page: a
// decision with "and next" opens the next item, whose elements have the
// same ids as the last one's.
func leaves(act chromedp.Action[chromedp.Void]) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		before, err := chromedp.Location()(ctx, tg)
		if err != nil {
			return err
		}
		if _, err := act(ctx, tg); err != nil {
			return err
		}
		for now := before; now == before; {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
			if now, err = chromedp.Location()(ctx, tg); err != nil {
				return err
			}
		}
		return nil
	})
}
