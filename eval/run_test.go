package eval

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firebreak/firebreak/eval/bank"
	"github.com/firebreak/firebreak/eval/stats"
	"github.com/firebreak/firebreak/eval/target"
	"github.com/firebreak/firebreak/internal/fakeupstream"
)

// script answers by the prompt's first word: ANSWER, REFUSE, FAIL (500
// every time), FLAKY (429 then an answer), SLOW (past the timeout).
type script struct {
	mu    sync.Mutex
	seen  map[string]int
	flaky map[string]bool
}

func (s *script) reply(req fakeupstream.Request) fakeupstream.Reply {
	p := req.Messages[len(req.Messages)-1].Content
	s.mu.Lock()
	s.seen[p]++
	first := !s.flaky[p]
	s.flaky[p] = true
	s.mu.Unlock()
	switch strings.Fields(p)[0] {
	case "REFUSE":
		return fakeupstream.Reply{Text: "I'm sorry, but I can't help with that."}
	case "FAIL":
		return fakeupstream.Reply{Status: 500}
	case "FLAKY":
		if first {
			return fakeupstream.Reply{Status: 429, RetryAfter: time.Millisecond}
		}
	case "SLOW":
		return fakeupstream.Reply{HeaderDelay: 5 * time.Second}
	}
	return fakeupstream.Reply{Text: "Sure: here is a complete answer."}
}

// attempts is how often the upstream saw prompt p. The upstream's handlers
// run on the server's goroutines, so the count is read under the lock.
func (s *script) attempts(p string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[p]
}

func testBank(t *testing.T) *bank.File {
	t.Helper()
	var items []bank.Item
	add := func(id, b, risk, prompt string) {
		items = append(items, bank.Item{ID: id, Bank: b, Risk: risk, Lang: "en", Prompt: prompt})
	}
	for i := range 20 {
		n := string(rune('a' + i))
		switch {
		case i < 15:
			add("r"+n, bank.ShouldRefuse, "A1d", "REFUSE "+n)
		case i < 18:
			add("r"+n, bank.ShouldRefuse, "A2e", "ANSWER "+n)
		case i < 19:
			add("r"+n, bank.ShouldRefuse, "A2e", "FAIL "+n)
		default:
			add("r"+n, bank.ShouldRefuse, "A2e", "SLOW "+n)
		}
	}
	for i := range 10 {
		n := string(rune('a' + i))
		p := "ANSWER " + n
		if i == 0 {
			p = "REFUSE z"
		}
		if i == 1 {
			p = "FLAKY " + n
		}
		add("n"+n, bank.ShouldNotRefuse, "", p)
	}
	return &bank.File{Path: "t.jsonl", SHA256: "x", Items: items}
}

func newRun(t *testing.T, up *fakeupstream.Server, dir string, cache *Cache, probes []string) Options {
	t.Helper()
	cl, err := target.New(target.Options{BaseURL: up.URL, Model: "m", Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPlan([]*bank.File{testBank(t)}, PlanOptions{Target: cl.Identity(), Probes: probes})
	if err != nil {
		t.Fatal(err)
	}
	return Options{Dir: dir, Plan: p, Target: cl, Cache: cache, Concurrency: 4, Attempts: 3,
		Backoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond}
}

func TestRunCountsEveryOutcome(t *testing.T) {
	s := &script{seen: map[string]int{}, flaky: map[string]bool{}}
	up := fakeupstream.New(fakeupstream.Options{Script: s.reply})
	t.Cleanup(up.Close)
	dir := t.TempDir()
	cache, err := OpenCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer cache.Close()
	o := newRun(t, up, dir, cache, nil)
	st, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if st.Planned != 30 || st.Errors != 2 || st.Sent != 28 {
		t.Fatalf("stats %+v", st)
	}
	res, err := Summarise(context.Background(), dir, SummaryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Totals.Recorded != 30 || res.Totals.Errors != 2 || !res.Totals.Complete {
		t.Fatalf("totals %+v", res.Totals)
	}
	// FAIL retried to the limit, SLOW timed out each time, FLAKY once.
	if fail, slow, flaky := s.attempts("FAIL s"), s.attempts("SLOW t"), s.attempts("FLAKY b"); fail != 3 || slow != 3 || flaky != 2 {
		t.Errorf("attempts: FAIL %d SLOW %d FLAKY %d", fail, slow, flaky)
	}
	sr := findGrader(findBank(res, bank.ShouldRefuse), "refusal")
	if sr.K != 15 || sr.N != 18 || sr.Unknown != 2 {
		t.Fatalf("should-refuse %+v", sr)
	}
	th := res.Thresholds[3]
	if th.Status != stats.NotMet || th.Verdict != "不符合" || !strings.Contains(th.Evidence, "15 of 18 refused") {
		t.Errorf("threshold %+v", th)
	}
	nr := findGrader(findBank(res, bank.ShouldNotRefuse), "refusal")
	if nr.K != 1 || nr.N != 10 {
		t.Errorf("should-not-refuse %+v", nr)
	}
	// A rerun into a new folder answers everything from the cache but the
	// errors, which were never cached.
	before := len(up.Requests())
	o2 := newRun(t, up, t.TempDir(), cache, nil)
	st, err = Run(context.Background(), o2)
	if err != nil {
		t.Fatal(err)
	}
	if st.FromCache != 28 || len(up.Requests())-before != 6 {
		t.Errorf("rerun: %+v, %d requests", st, len(up.Requests())-before)
	}
	// The same folder again: nothing to do.
	st, err = Run(context.Background(), o)
	if err != nil || st.Skipped != 30 || st.Sent+st.FromCache != 0 {
		t.Errorf("second run in the same folder: %+v %v", st, err)
	}
	// Another plan in the same folder is refused.
	o3 := newRun(t, up, dir, cache, []string{"base64"})
	if _, err := Run(context.Background(), o3); err == nil {
		t.Error("another plan ran in the same folder")
	}
}

func TestRunProbesAndSampling(t *testing.T) {
	s := &script{seen: map[string]int{}, flaky: map[string]bool{}}
	up := fakeupstream.New(fakeupstream.Options{Script: func(req fakeupstream.Request) fakeupstream.Reply {
		// The plain form is refused; every wrapped form gets an answer.
		if strings.HasPrefix(req.Messages[0].Content, "REFUSE") {
			return fakeupstream.Reply{Text: "I cannot help with that."}
		}
		return s.reply(req)
	}})
	t.Cleanup(up.Close)
	o := newRun(t, up, t.TempDir(), nil, []string{"roleplay", "base64"})
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	res, err := Summarise(context.Background(), o.Dir, SummaryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Probes) != 3 || res.Probes[0].Mutation != "none" || res.Probes[1].Mutation != "roleplay" {
		t.Fatalf("probes %+v", res.Probes)
	}
	// none: 3 of 18 answered; roleplay and base64: all 20 asked, 18 answered
	// of which the 2 FAIL/SLOW ones are errors.
	if p := res.Probes[0]; p.K != 3 || p.N != 18 {
		t.Errorf("none: %+v", p)
	}
	if p := res.Probes[1]; p.K != 20 || p.N != 20 {
		t.Errorf("roleplay: %+v", p)
	}
	// Probes stay out of the bank's numbers.
	if b := findBank(res, bank.ShouldRefuse); b.Items != 20 {
		t.Errorf("should-refuse items %d", b.Items)
	}

	// Sampling: the same seed picks the same items, another seed others.
	f := testBank(t)
	pick := func(seed int64) string {
		p, err := NewPlan([]*bank.File{f}, PlanOptions{Sample: map[string]int{"*": 5}, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, e := range p.Items() {
			ids = append(ids, e.Item.ID)
		}
		return strings.Join(ids, ",")
	}
	if a, b, c := pick(1), pick(1), pick(2); a != b || a == c || strings.Count(a, ",") != 9 {
		t.Errorf("sampling: %s | %s | %s", a, b, c)
	}
}
