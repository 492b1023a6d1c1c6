package grade

import (
	"context"
	"regexp"
	"strings"

	"github.com/firebreak/firebreak/eval/sandbox"
)

// Code grades a code item: the code in the answer (its first fenced block,
// else the whole answer) runs with the item's tests appended, in the
// sandbox; exit status 0 within the limits passes.
type Code struct {
	Limits sandbox.Limits
}

// Name implements Grader.
func (Code) Name() string { return "code" }

var fence = regexp.MustCompile("(?s)```[A-Za-z0-9_+-]*[ \t]*\r?\n(.*?)```")

// ExtractCode returns the code of an answer.
func ExtractCode(answer string) string {
	if m := fence.FindStringSubmatch(answer); m != nil {
		return m[1]
	}
	return answer
}

// Grade implements Grader. A sandbox that cannot isolate the process is
// an error: the item stays ungraded rather than run unconfined.
func (c Code) Grade(ctx context.Context, in Input) (Grade, error) {
	spec := in.Item.Code
	if spec == nil {
		return Grade{Verdict: Fail, Detail: "item has no code tests"}, nil
	}
	program := strings.TrimRight(ExtractCode(in.Answer), "\n") + "\n\n" + spec.Tests
	res, err := sandbox.Run(ctx, spec.Lang, program, c.Limits)
	if err != nil {
		return Grade{}, err
	}
	if res.Passed {
		return Grade{Verdict: Pass}, nil
	}
	return Grade{Verdict: Fail, Detail: res.Reason}, nil
}
