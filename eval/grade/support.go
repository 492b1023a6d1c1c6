package grade

import (
	"context"
	"fmt"

	"github.com/firebreak/firebreak/kb/support"
)

// Support grades a grounded answer with the support check a grounded
// route runs (package kb/support): it fails when a sentence of the answer
// states what the item's passages do not support. A gateway's refusal
// claims nothing and passes.
type Support struct {
	// MinSupport is the score under which a sentence is unsupported.
	// Default support.DefaultMinSupport.
	MinSupport float64
}

// Name implements Grader.
func (Support) Name() string { return "support" }

// Grade implements Grader.
func (s Support) Grade(_ context.Context, in Input) (Grade, error) {
	if len(in.Item.Passages) == 0 {
		return Grade{Verdict: Fail, Detail: "item has no passages"}, nil
	}
	if in.Gateway != "" {
		return Grade{Verdict: Pass, Detail: "refused by the gateway"}, nil
	}
	min := s.MinSupport
	if min == 0 {
		min = support.DefaultMinSupport
	}
	res := support.NewEvidence(in.Item.Passages).Check(in.Answer, min)
	detail := fmt.Sprintf("%d of %d claims unsupported", res.Unsupported, res.Claims)
	if res.Unsupported > 0 {
		return Grade{Verdict: Fail, Detail: detail}, nil
	}
	return Grade{Verdict: Pass, Detail: detail}, nil
}
