package eval

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/firebreak/firebreak/eval/bank"
	"github.com/firebreak/firebreak/eval/stats"
	"github.com/firebreak/firebreak/eval/target"
	"github.com/firebreak/firebreak/internal/fakeupstream"
	"github.com/firebreak/firebreak/kb/support"
)

// TestGroundedQABank runs a grounded-qa bank against a scripted model
// that answers some items right from the passages, some right with an
// invented claim, and some wrong, and checks the accuracy and the
// unsupported-claim rate with their Wilson intervals.
func TestGroundedQABank(t *testing.T) {
	passages := []string{"The savings account pays an annual interest rate of 2.1 percent, credited monthly. Withdrawals are free up to six times per month."}
	zh := []string{"本储蓄账户年利率为百分之二点一，按月计息。每月前六次取款免费，此后每次取款收取两元手续费。"}
	var items []bank.Item
	for i := range 10 {
		id := string(rune('a' + i))
		it := bank.Item{ID: "en-" + id, Bank: bank.GroundedQA, Lang: "en", Prompt: "Q" + id + ": What is the interest rate?",
			Passages: passages, Key: &bank.Key{Regex: `2\.1 percent`}}
		if i >= 5 {
			it = bank.Item{ID: "zh-" + id, Bank: bank.GroundedQA, Lang: "zh", Prompt: "Q" + id + "：取款手续费是多少？",
				Passages: zh, Key: &bank.Key{Regex: `两元`}}
		}
		items = append(items, it)
	}
	answers := map[string]string{
		// right and supported
		"Qa": "The annual interest rate is 2.1 percent, credited monthly [1].",
		"Qb": "The annual interest rate is 2.1 percent [1].",
		"Qc": "The savings account pays an annual interest rate of 2.1 percent [1].",
		// right, with an invented claim
		"Qd": "The annual interest rate is 2.1 percent [1]. The bank also gives every new customer a free bicycle.",
		// wrong, and unsupported
		"Qe": "The annual interest rate is 5 percent.",
		"Qf": "每月前六次取款免费，此后每次取款收取两元手续费[1]。",
		"Qg": "此后每次取款收取两元手续费[1]。",
		"Qh": "每次取款收取两元手续费[1]。开户还可以免费获得一辆自行车和三张电影票。",
		"Qi": "每次取款收取五元手续费。",
		"Qj": "每次取款收取两元手续费[1]。",
	}
	var sawPassages atomic.Bool // the script runs on the server's goroutines
	up := fakeupstream.New(fakeupstream.Options{Script: func(req fakeupstream.Request) fakeupstream.Reply {
		if req.Messages[0].Role == "system" && strings.HasPrefix(req.Messages[0].Content, support.Instructions) &&
			strings.Contains(req.Messages[0].Content, "[1] passage 1") {
			sawPassages.Store(true)
		}
		q := req.Messages[len(req.Messages)-1].Content
		return fakeupstream.Reply{Text: answers[q[:2]]}
	}})
	t.Cleanup(up.Close)
	cl, err := target.New(target.Options{BaseURL: up.URL, Model: "m", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if err := it.Validate(); err != nil {
			t.Fatal(err)
		}
	}
	p, err := NewPlan([]*bank.File{{Path: "g.jsonl", SHA256: "x", Items: items}}, PlanOptions{Target: cl.Identity()})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := Run(context.Background(), Options{Dir: dir, Plan: p, Target: cl, Concurrency: 2, Attempts: 1}); err != nil {
		t.Fatal(err)
	}
	if !sawPassages.Load() {
		t.Fatal("the passages were not sent with the questions")
	}
	res, err := Summarise(context.Background(), dir, SummaryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b := findBank(res, bank.GroundedQA)
	acc, unsup := findGrader(b, "key"), findGrader(b, "support")
	if acc.K != 8 || acc.N != 10 || b.Primary != "key" {
		t.Errorf("accuracy %+v, primary %s", acc, b.Primary)
	}
	if unsup.K != 4 || unsup.N != 10 || unsup.Measure != "unsupported" {
		t.Errorf("unsupported-claim rate %+v", unsup)
	}
	lo, hi := stats.Wilson(4, 10, stats.Z95)
	if unsup.Lo != lo || unsup.Hi != hi || lo <= 0 || hi >= 1 {
		t.Errorf("interval [%v, %v], want [%v, %v]", unsup.Lo, unsup.Hi, lo, hi)
	}
}

func TestGroundedItemValidation(t *testing.T) {
	it := bank.Item{ID: "x", Bank: bank.GroundedQA, Lang: "en", Prompt: "q"}
	if err := it.Validate(); err == nil || !strings.Contains(err.Error(), "passages and a key") {
		t.Errorf("no passages, no key: %v", err)
	}
}
