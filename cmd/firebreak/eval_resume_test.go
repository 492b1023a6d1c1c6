package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/firebreak/firebreak/eval"
	"github.com/firebreak/firebreak/eval/bank"
	"github.com/firebreak/firebreak/eval/target"
	"github.com/firebreak/firebreak/internal/fakeupstream"
)

// buildBinary builds the firebreak binary into the test's folder.
func buildBinary(t *testing.T) (string, error) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "firebreak")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

// writeResumeBank writes 200 items: answered, refused and always failing.
func writeResumeBank(t *testing.T) string {
	t.Helper()
	var items []bank.Item
	for i := range 200 {
		it := bank.Item{ID: fmt.Sprintf("i%03d", i), Lang: "en", Bank: bank.ShouldRefuse, Risk: "A1d"}
		switch {
		case i%10 == 0:
			it.Prompt = fmt.Sprintf("FAIL %d", i)
		case i%3 == 0:
			it.Prompt = fmt.Sprintf("ANSWER %d", i)
		default:
			it.Prompt = fmt.Sprintf("REFUSE %d", i)
		}
		items = append(items, it)
	}
	path := filepath.Join(t.TempDir(), "bank.jsonl")
	if err := bank.WriteFile(path, items); err != nil {
		t.Fatal(err)
	}
	return path
}

type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) upstream(t *testing.T) *fakeupstream.Server {
	c.n = map[string]int{}
	up := fakeupstream.New(fakeupstream.Options{Script: func(req fakeupstream.Request) fakeupstream.Reply {
		p := req.Messages[len(req.Messages)-1].Content
		c.mu.Lock()
		c.n[p]++
		c.mu.Unlock()
		switch strings.Fields(p)[0] {
		case "FAIL":
			return fakeupstream.Reply{Status: 503}
		case "REFUSE":
			return fakeupstream.Reply{Text: "I'm sorry, but I can't help with that.", HeaderDelay: 25 * time.Millisecond}
		}
		return fakeupstream.Reply{Text: "Sure, here you go.", HeaderDelay: 25 * time.Millisecond}
	}})
	t.Cleanup(up.Close)
	return up
}

func lines(path string) int {
	b, _ := os.ReadFile(path)
	return bytes.Count(b, []byte("\n"))
}

// TestEvalResumeAfterSIGKILL kills the real binary half-way through a
// run, resumes it, and checks that the totals equal those of an
// uninterrupted run and that no answer in the cache was asked for again.
func TestEvalResumeAfterSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin, err := buildBinary(t)
	if err != nil {
		t.Fatal(err)
	}
	bankFile := writeResumeBank(t)
	var c counter
	up := c.upstream(t)
	args := func(out, cache string) []string {
		return []string{"eval", "run", bankFile, "--base-url", up.URL, "--model", "fake-model", "--out", out,
			"--cache", cache, "--concurrency", "4", "--attempts", "2", "--progress", "lines", "--no-keyword"}
	}

	// The uninterrupted run.
	whole := filepath.Join(t.TempDir(), "whole")
	if out, err := exec.Command(bin, args(whole, t.TempDir())...).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}

	// The killed run.
	c.mu.Lock()
	c.n = map[string]int{}
	c.mu.Unlock()
	out, cache := filepath.Join(t.TempDir(), "killed"), t.TempDir()
	cmd := exec.Command(bin, args(out, cache)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	journal := filepath.Join(out, "journal.jsonl")
	deadline := time.Now().Add(60 * time.Second)
	for lines(journal) < 60 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	at := lines(journal)
	if at < 60 || at >= 200 {
		t.Fatalf("killed at %d journal lines; want half-way\n%s", at, stderr.String())
	}
	// What the cache held at the kill must not be asked for again.
	tgt, _ := target.New(target.Options{BaseURL: up.URL, Model: "fake-model"})
	cachedAtKill := map[string]bool{}
	{
		ca, err := eval.OpenCache(cache)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 200 {
			for _, p := range []string{"ANSWER %d", "REFUSE %d"} {
				prompt := fmt.Sprintf(p, i)
				if _, ok := ca.Get(eval.CacheKey(tgt.Identity(), []bank.Message{{Role: "user", Content: prompt}})); ok {
					cachedAtKill[prompt] = true
				}
			}
		}
		ca.Close()
	}
	resumed, err := exec.Command(bin, args(out, cache)...).CombinedOutput()
	if err != nil {
		t.Fatalf("resume: %v\n%s", err, resumed)
	}
	if !strings.Contains(string(resumed), fmt.Sprintf("%d already done", at)) {
		t.Errorf("resume did not start from the journal's %d items:\n%s", at, resumed)
	}

	a, b := readReport(t, whole).Results, readReport(t, out).Results
	a.Totals.Cached, b.Totals.Cached = 0, 0
	if !reflect.DeepEqual(a.Totals, b.Totals) {
		t.Errorf("totals differ:\nwhole   %+v\nresumed %+v", a.Totals, b.Totals)
	}
	ga, gb := a.Banks[0].Graders[0], b.Banks[0].Graders[0]
	if ga.K != gb.K || ga.N != gb.N || ga.Unknown != gb.Unknown || a.Totals.Errors != 20 || !b.Totals.Complete {
		t.Errorf("refusal: whole %d/%d (%d unknown), resumed %d/%d (%d unknown); errors %d", ga.K, ga.N, ga.Unknown, gb.K, gb.N, gb.Unknown, a.Totals.Errors)
	}
	// Every prompt the cache held was sent exactly once over both runs;
	// the only repeats are the few in flight at the kill (and the failing
	// ones, which are retried by design and never cached).
	repeats := 0
	c.mu.Lock()
	defer c.mu.Unlock()
	for p, n := range c.n {
		if strings.HasPrefix(p, "FAIL") {
			continue
		}
		if cachedAtKill[p] && n != 1 {
			t.Errorf("%q was in the cache at the kill and was sent %d times", p, n)
		}
		if n > 1 {
			repeats++
		}
	}
	if repeats > 4 {
		t.Errorf("%d prompts sent twice; at most the 4 in flight may be", repeats)
	}
}
