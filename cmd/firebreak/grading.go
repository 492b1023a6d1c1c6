package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/firebreak/firebreak/admin"
	"github.com/firebreak/firebreak/eval/grade"
	"github.com/firebreak/firebreak/review"
)

// sendGradingSet sends the lines of a grading file (the evaluator's human
// grading format) that keep accepts, all when it is nil, to the review
// desk as the grading set set.
func sendGradingSet(ctx context.Context, c *adminClient, set, file string, keep func(grade.HumanGrade) bool) error {
	todo, err := grade.ReadGradingFile(file)
	if err != nil {
		return err
	}
	items := make([]review.GradingItem, 0, len(todo))
	for _, h := range todo {
		if keep != nil && !keep(h) {
			continue
		}
		it := review.GradingItem{ID: h.ID, Prompt: h.Prompt, Text: h.Answer}
		var context []string
		if h.Bank != "" {
			context = append(context, h.Bank)
		}
		if h.Risk != "" {
			context = append(context, h.Risk)
		}
		it.Context = strings.Join(context, " · ")
		items = append(items, it)
	}
	if len(items) == 0 {
		return c.say("review desk: no items to grade in %s", file)
	}
	var out admin.GradingSetAdded
	if err := c.do(ctx, "POST", "/review/grading/"+url.PathEscape(set), admin.GradingSetIn{Items: items}, &out); err != nil {
		return err
	}
	if c.json {
		return c.print(out)
	}
	return c.say("review desk: grading set %s, %d items, %d new", set, out.Items, out.Added)
}

// deskGrades reads human grades from a grading set on the review desk.
type deskGrades struct {
	c   *adminClient
	set string
}

var _ grade.HumanGrades = deskGrades{}

// Grades implements grade.HumanGrades: the items graded so far; a fail
// carries its risk code as the note.
func (d deskGrades) Grades(ctx context.Context) (map[string]grade.HumanGrade, error) {
	var in admin.GradingSetGrades
	if err := d.c.do(ctx, "GET", "/review/grading/"+url.PathEscape(d.set), nil, &in); err != nil {
		return nil, fmt.Errorf("grading set %s: %w", d.set, err)
	}
	out := make(map[string]grade.HumanGrade, len(in.Grades))
	for _, g := range in.Grades {
		if g.Verdict == "" {
			continue
		}
		out[g.ID] = grade.HumanGrade{ID: g.ID, Verdict: g.Verdict, By: strings.Join(g.By, ","), Note: g.Code}
	}
	return out, nil
}
