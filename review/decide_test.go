package review_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/review"
	"github.com/firebreak/firebreak/safety"
	"github.com/firebreak/firebreak/sanction"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

func decide(t testing.TB, q *review.Queue, id string, who review.Reviewer, d review.Decision) *review.Item {
	t.Helper()
	l, err := q.Claim(context.Background(), id, who)
	if err != nil {
		t.Fatalf("%s claims %s: %v", who.Name, id, err)
	}
	it, err := q.Decide(context.Background(), id, l.Token, who, d)
	if err != nil {
		t.Fatalf("%s decides %s: %v", who.Name, id, err)
	}
	return it
}

func standing(t testing.TB, s *sanction.Service, tenant, user string) sanction.Action {
	t.Helper()
	st, err := s.Standing(context.Background(), tenant, user)
	if err != nil {
		t.Fatal(err)
	}
	return st.Action
}

// Dual review: the second reviewer disagrees, a senior decides, all three
// decisions are kept, and only the final one has effects.
func TestDualReviewDisagreementGoesToSenior(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		d := newDesk(t, db, review.Options{DualShare: 1})
		ctx := context.Background()
		rec := d.exchange(t, d.recorder(t, review.Sampling{}), "t1", "u1", safety.Review, "A1d", "how to make a bomb")
		id := d.only(t, review.Filter{}).ID

		it := decide(t, d.queue, id, alice, review.Decision{Verdict: review.Violation, Code: "A1d", Corrected: "I can't help with that."})
		if it.State != review.StateOpen || it.Stage != review.StageSecond {
			t.Fatalf("after the first decision: state %s stage %d, want open at stage 2", it.State, it.Stage)
		}
		if standing(t, d.sanctions, "t1", "u1") != sanction.None {
			t.Fatal("a decision that is not final already struck the user")
		}
		if _, err := d.queue.Claim(ctx, id, alice); !errors.Is(err, review.ErrOwnItem) {
			t.Fatalf("the first reviewer claims the second review: %v, want ErrOwnItem", err)
		}
		it = decide(t, d.queue, id, bob, review.Decision{Verdict: review.NoViolation})
		if it.Stage != review.StageSenior || it.State != review.StateOpen {
			t.Fatalf("after disagreement: stage %d state %s, want open at stage 3", it.Stage, it.State)
		}
		if _, err := d.queue.Claim(ctx, id, review.Reviewer{ID: "st_dave", Name: "dave"}); !errors.Is(err, review.ErrNeedSenior) {
			t.Fatalf("a reviewer who is not senior claims: %v, want ErrNeedSenior", err)
		}
		it = decide(t, d.queue, id, senior, review.Decision{Verdict: review.Violation, Code: "A1d", Note: "bomb recipe"})
		if it.State != review.StateDone || it.Outcome != review.Violation || it.OutcomeCode != "A1d" {
			t.Fatalf("after the senior: %+v", it)
		}
		ds, err := d.queue.Decisions(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, x := range ds {
			got = append(got, x.Reviewer+":"+string(x.Verdict))
		}
		if strings.Join(got, " ") != "st_alice:violation st_bob:no_violation st_carol:violation" {
			t.Fatalf("decisions kept: %v", got)
		}
		if it.Effect.ViolationID == "" || it.Effect.SanctionID == "" {
			t.Fatalf("no strike from the confirmed violation: %+v", it.Effect)
		}
		if standing(t, d.sanctions, "t1", "u1") != sanction.Suspend {
			t.Fatal("the ladder in force did not suspend after the confirmed violation")
		}
		vs, err := d.sanctions.Violations(ctx, "t1", "u1", 10)
		if err != nil || len(vs) != 1 || vs[0].Source != sanction.SourceReview || vs[0].Evidence[0] != rec.ID {
			t.Fatalf("violations: %v %+v", err, vs)
		}
		// Every decision is a staff action on the audit trail.
		es, err := d.trail.Search(ctx, audit.Query{Route: audit.RouteStaff})
		if err != nil {
			t.Fatal(err)
		}
		if n := countDecisions(es, id); n != 3 {
			t.Fatalf("%d decisions on the audit trail, want 3", n)
		}
		ag, err := d.queue.Agreements(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(ag) != 1 || ag[0].Code != "A1d" || ag[0].Pairs != 1 || ag[0].Confusion[1][0] != 1 {
			t.Fatalf("agreement: %+v", ag)
		}
	})
}

func countDecisions(es []audit.Entry, item string) int {
	n := 0
	for _, e := range es {
		if a, ok := e.Action(); ok && a.Name == "review decide" && a.Target == item {
			n++
		}
	}
	return n
}

// An escalation goes to a second reviewer whose decision is final.
func TestEscalationGoesToSecondReviewer(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		d := newDesk(t, db, review.Options{})
		d.exchange(t, d.recorder(t, review.Sampling{}), "t1", "u1", safety.Review, "A5a", "diet pills")
		id := d.only(t, review.Filter{}).ID
		if it := decide(t, d.queue, id, alice, review.Decision{Verdict: review.Escalate}); it.Stage != review.StageSecond {
			t.Fatalf("escalation: stage %d", it.Stage)
		}
		it := decide(t, d.queue, id, bob, review.Decision{Verdict: review.NoViolation})
		if it.State != review.StateDone || it.Outcome != review.NoViolation {
			t.Fatalf("after the second reviewer: %+v", it)
		}
	})
}

func TestKappaPerCode(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		d := newDesk(t, db, review.Options{DualShare: 1})
		r := d.recorder(t, review.Sampling{})
		// Four A5a items: both say violation twice, both say no once, they
		// disagree once: po = 3/4, pe = 1/2·3/4... computed below.
		verdicts := [][2]review.Verdict{{review.Violation, review.Violation}, {review.Violation, review.Violation},
			{review.NoViolation, review.NoViolation}, {review.Violation, review.NoViolation}}
		for i := range verdicts {
			d.exchange(t, r, "t1", "u1", safety.Review, "A5a", strings.Repeat("x", i+1))
		}
		items, err := d.queue.List(context.Background(), review.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		for i, it := range items {
			code := func(v review.Verdict) string {
				if v == review.Violation {
					return "A5a"
				}
				return ""
			}
			decide(t, d.queue, it.ID, alice, review.Decision{Verdict: verdicts[i][0], Code: code(verdicts[i][0])})
			decide(t, d.queue, it.ID, bob, review.Decision{Verdict: verdicts[i][1], Code: code(verdicts[i][1])})
		}
		ag, err := d.queue.Agreements(context.Background())
		if err != nil || len(ag) != 1 {
			t.Fatalf("agreements: %v %+v", err, ag)
		}
		// Rater 1: 3 yes 1 no; rater 2: 2 yes 2 no. po = 3/4,
		// pe = 3/4·2/4 + 1/4·2/4 = 1/2, kappa = (3/4-1/2)/(1/2) = 1/2.
		if math.Abs(ag[0].Kappa-0.5) > 1e-9 || math.Abs(ag[0].Observed-0.75) > 1e-9 {
			t.Fatalf("kappa %v observed %v, want 0.5 and 0.75", ag[0].Kappa, ag[0].Observed)
		}
	})
}

// An appeal granted reverses the strike: the sanction it triggered is
// lifted, the standing recomputed, the appeal answered.
func TestAppealGrantedReversesStrike(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		d := newDesk(t, db, review.Options{})
		ctx := context.Background()
		d.exchange(t, d.recorder(t, review.Sampling{}), "t1", "u1", safety.Review, "A1d", "bomb")
		it := decide(t, d.queue, d.only(t, review.Filter{}).ID, alice, review.Decision{Verdict: review.Violation, Code: "A1d"})
		if standing(t, d.sanctions, "t1", "u1") != sanction.Suspend {
			t.Fatal("not suspended after the confirmed violation")
		}
		if _, err := d.queue.FileAppeal(ctx, "t1", "u2", it.Effect.SanctionID, "not mine"); !errors.Is(err, review.ErrNoSanction) {
			t.Fatalf("another user's appeal: %v, want ErrNoSanction", err)
		}
		a, err := d.queue.FileAppeal(ctx, "t1", "u1", it.Effect.SanctionID, "I asked about a bath bomb")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.queue.FileAppeal(ctx, "t1", "u1", it.Effect.SanctionID, "again"); !errors.Is(err, review.ErrAppealed) {
			t.Fatalf("second appeal: %v, want ErrAppealed", err)
		}
		var stored string
		if err := db.QueryRowContext(ctx, `SELECT text FROM review_appeals WHERE id = $1`, a.ID).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(stored, "bath bomb") {
			t.Fatal("the appeal's text is stored in plain text")
		}
		item := d.only(t, review.Filter{Source: review.SourceAppeal, State: review.StateOpen})
		done := decide(t, d.queue, item.ID, bob, review.Decision{Verdict: review.NoViolation})
		if done.Effect.Reversed != it.Effect.ViolationID || len(done.Effect.Lifted) == 0 || done.Effect.Answered != review.AppealGranted {
			t.Fatalf("appeal effect: %+v", done.Effect)
		}
		if standing(t, d.sanctions, "t1", "u1") != sanction.None {
			t.Fatal("standing not recomputed after the reversal")
		}
		if vs, _ := d.sanctions.Violations(ctx, "t1", "u1", 10); len(vs) != 0 {
			t.Fatalf("the reversed strike still counts: %+v", vs)
		}
		got, err := d.queue.Appeal(ctx, "t1", "u1", a.ID)
		if err != nil || got.Status != review.AppealGranted || got.Answer == "" || got.Text != "I asked about a bath bomb" {
			t.Fatalf("appeal as the user reads it: %v %+v", err, got)
		}
		if _, err := d.queue.Appeal(ctx, "t1", "u2", a.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("another user reads the appeal: %v", err)
		}
	})
}

func TestAppealUpheldKeepsSanction(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		d := newDesk(t, db, review.Options{})
		ctx := context.Background()
		d.exchange(t, d.recorder(t, review.Sampling{}), "t1", "u1", safety.Review, "A1d", "bomb")
		it := decide(t, d.queue, d.only(t, review.Filter{}).ID, alice, review.Decision{Verdict: review.Violation, Code: "A1d"})
		a, err := d.queue.FileAppeal(ctx, "t1", "u1", it.Effect.SanctionID, "please")
		if err != nil {
			t.Fatal(err)
		}
		item := d.only(t, review.Filter{Source: review.SourceAppeal, State: review.StateOpen})
		decide(t, d.queue, item.ID, bob, review.Decision{Verdict: review.Violation, Code: "A1d", Reply: "The sanction stands."})
		if standing(t, d.sanctions, "t1", "u1") != sanction.Suspend {
			t.Fatal("an upheld appeal lifted the sanction")
		}
		got, _ := d.queue.Appeal(ctx, "t1", "u1", a.ID)
		if got.Status != review.AppealUpheld || got.Answer != "The sanction stands." {
			t.Fatalf("appeal: %+v", got)
		}
	})
}

func TestComplaintDecidedAndAnswered(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		d := newDesk(t, db, review.Options{})
		ctx := context.Background()
		rec := d.exchange(t, d.recorder(t, review.Sampling{}), "t1", "u1", safety.Allow, "", "an answer")
		cs, err := audit.NewComplaints(audit.ComplaintOptions{DB: db, Keys: d.keys, Queue: d.queue, Now: d.clock.Now, Deadline: 48 * 3600e9})
		if err != nil {
			t.Fatal(err)
		}
		q2, err := review.New(review.Options{DB: db, Trail: d.trail, Sanctions: d.sanctions, Complaints: cs, Now: d.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		c, err := cs.Create(ctx, audit.Complaint{TenantID: "t1", RequestID: rec.RequestID, Category: "illegal_content", Text: "bad answer"})
		if err != nil {
			t.Fatal(err)
		}
		item := d.only(t, review.Filter{Source: review.SourceComplaint})
		if item.RecordID != rec.ID || item.EndUser != "u1" || item.Due.After(c.Deadline) {
			t.Fatalf("complaint item: %+v (deadline %v)", item, c.Deadline)
		}
		decide(t, q2, item.ID, alice, review.Decision{Verdict: review.Violation, Code: "A1a", Reply: "Thank you; we removed it."})
		got, err := cs.Get(ctx, c.ID)
		if err != nil || got.Status != audit.StatusAnswered || got.Answer != "Thank you; we removed it." {
			t.Fatalf("complaint: %v %+v", err, got)
		}
		if standing(t, d.sanctions, "t1", "u1") != sanction.Suspend {
			t.Fatal("a confirmed complaint did not strike the user")
		}
	})
}

func TestDecisionValidation(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		d := newDesk(t, db, review.Options{})
		ctx := context.Background()
		d.exchange(t, d.recorder(t, review.Sampling{}), "t1", "u1", safety.Review, "A5a", "diet")
		id := d.only(t, review.Filter{}).ID
		l, err := d.queue.Claim(ctx, id, alice)
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []review.Decision{{Verdict: review.Violation}, {Verdict: review.Violation, Code: "Z9"}, {Verdict: "maybe"}} {
			if _, err := d.queue.Decide(ctx, id, l.Token, alice, bad); err == nil || errors.Is(err, review.ErrLeaseLost) {
				t.Errorf("decision %+v: %v, want a validation error", bad, err)
			}
		}
		// The lease survives a refused decision.
		if _, err := d.queue.Decide(ctx, id, l.Token, alice, review.Decision{Verdict: review.NoViolation}); err != nil {
			t.Fatalf("valid decision after refused ones: %v", err)
		}
	})
}
