package review_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/review"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

// A grading set goes through the desk like any other work: each item is
// claimed and decided, dual review and escalation apply, and the set's
// grades read no violation as pass and violation as fail, with the risk
// code and who decided. Texts are sealed in the database, adding the set
// again adds nothing, and a grade strikes no one.
func TestGradingSet(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		d := newDesk(t, db, review.Options{})
		ctx := context.Background()
		items := []review.GradingItem{
			{ID: "blog-1", Context: "source blog", Text: "a clean paragraph about rivers"},
			{ID: "forum-7", Context: "source forum", Text: "a paragraph that praises violence"},
			{ID: "forum-9", Context: "source forum", Prompt: "a prompt", Text: "an answer the grader is unsure of"},
		}
		n, err := d.queue.AddGradingSet(ctx, "corpus-2026-03", items)
		if err != nil || n != 3 {
			t.Fatalf("add: %d, %v", n, err)
		}
		if n, err := d.queue.AddGradingSet(ctx, "corpus-2026-03", items); err != nil || n != 0 {
			t.Fatalf("added again: %d, %v; want 0", n, err)
		}
		var plain int
		if err := db.QueryRow(`SELECT COUNT(*) FROM review_grading WHERE text LIKE '%paragraph%' OR text_key = ''`).Scan(&plain); err != nil || plain != 0 {
			t.Fatalf("%d texts stored in the clear (%v)", plain, err)
		}

		open, err := d.queue.List(ctx, review.Filter{Source: review.SourceGrading, State: review.StateOpen})
		if err != nil {
			t.Fatal(err)
		}
		if len(open) != 3 {
			t.Fatalf("%d grading items open, want 3", len(open))
		}
		byRef := map[string]string{}
		for _, it := range open {
			byRef[it.Ref] = it.ID
			if it.EndUser != "" || it.TenantID != "" {
				t.Fatalf("grading item names a user: %+v", it)
			}
		}
		g, err := d.queue.Grading(ctx, "corpus-2026-03/forum-9")
		if err != nil || g.Text != "an answer the grader is unsure of" || g.Prompt != "a prompt" || g.Context != "source forum" {
			t.Fatalf("grading text: %+v, %v", g, err)
		}

		decide(t, d.queue, byRef["corpus-2026-03/blog-1"], alice, review.Decision{Verdict: review.NoViolation})
		decide(t, d.queue, byRef["corpus-2026-03/forum-7"], alice, review.Decision{Verdict: review.Violation, Code: "A1b"})
		decide(t, d.queue, byRef["corpus-2026-03/forum-9"], alice, review.Decision{Verdict: review.Escalate})

		grades, err := d.queue.GradingSet(ctx, "corpus-2026-03")
		if err != nil {
			t.Fatal(err)
		}
		want := []review.Grade{
			{ID: "blog-1", Verdict: review.GradePass, By: []string{alice.ID}},
			{ID: "forum-7", Verdict: review.GradeFail, Code: "A1b", By: []string{alice.ID}},
			{ID: "forum-9"}, // escalated: open at the second stage
		}
		checkGrades(t, grades, want)

		decide(t, d.queue, byRef["corpus-2026-03/forum-9"], bob, review.Decision{Verdict: review.NoViolation})
		grades, err = d.queue.GradingSet(ctx, "corpus-2026-03")
		if err != nil {
			t.Fatal(err)
		}
		want[2] = review.Grade{ID: "forum-9", Verdict: review.GradePass, By: []string{alice.ID, bob.ID}}
		checkGrades(t, grades, want)

		var strikes int
		if err := db.QueryRow(`SELECT COUNT(*) FROM sanction_violations`).Scan(&strikes); err != nil || strikes != 0 {
			t.Fatalf("%d strikes after grading (%v), want none", strikes, err)
		}
		if _, err := d.queue.GradingSet(ctx, "no-such-set"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown set: %v", err)
		}
	})
}

func checkGrades(t *testing.T, got, want []review.Grade) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d grades, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.ID != w.ID || g.Verdict != w.Verdict || g.Code != w.Code || !slices.Equal(g.By, w.By) ||
			(w.Verdict != "") == g.Decided.IsZero() {
			t.Errorf("grade %d: %+v, want %+v", i, g, w)
		}
	}
}

func TestGradingSetValidation(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		d := newDesk(t, db, review.Options{})
		ctx := context.Background()
		for name, c := range map[string]struct {
			set   string
			items []review.GradingItem
		}{
			"bad set name":  {"../x", []review.GradingItem{{ID: "a", Text: "t"}}},
			"no items":      {"s", nil},
			"empty id":      {"s", []review.GradingItem{{Text: "t"}}},
			"repeated id":   {"s", []review.GradingItem{{ID: "a", Text: "t"}, {ID: "a", Text: "u"}}},
			"empty text":    {"s", []review.GradingItem{{ID: "a", Text: "  "}}},
			"text too long": {"s", []review.GradingItem{{ID: "a", Text: strings.Repeat("x", 65<<10)}}},
			"invalid UTF-8": {"s", []review.GradingItem{{ID: "a", Text: "\xff"}}},
		} {
			_, err := d.queue.AddGradingSet(ctx, c.set, c.items)
			if ce := clienterr.As(err); ce == nil || ce.Code != clienterr.InvalidRequest {
				t.Errorf("%s: %v, want an invalid request", name, err)
			}
		}
		if open, err := d.queue.List(ctx, review.Filter{Source: review.SourceGrading}); err != nil || len(open) != 0 {
			t.Fatalf("refused sets queued %d items (%v)", len(open), err)
		}
	})
}

// A set larger than one transaction's chunk is added whole, once.
func TestGradingSetInChunks(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		d := newDesk(t, db, review.Options{})
		ctx := context.Background()
		items := make([]review.GradingItem, 450)
		for i := range items {
			items[i] = review.GradingItem{ID: fmt.Sprintf("item-%03d", i), Text: "text " + strconv.Itoa(i)}
		}
		if n, err := d.queue.AddGradingSet(ctx, "big", items[:300]); err != nil || n != 300 {
			t.Fatalf("first 300: %d, %v", n, err)
		}
		if n, err := d.queue.AddGradingSet(ctx, "big", items); err != nil || n != 150 {
			t.Fatalf("all 450 after 300: %d new, %v; want 150", n, err)
		}
		grades, err := d.queue.GradingSet(ctx, "big")
		if err != nil || len(grades) != 450 || grades[449].ID != "item-449" {
			t.Fatalf("%d grades, %v", len(grades), err)
		}
	})
}
