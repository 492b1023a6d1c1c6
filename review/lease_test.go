package review_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/firebreak/firebreak/review"
	"github.com/firebreak/firebreak/safety"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

func TestClaimConcurrentOneWins(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		d := newDesk(t, db, review.Options{})
		ctx := context.Background()
		d.exchange(t, d.recorder(t, review.Sampling{}), "t1", "u1", safety.Review, "A5a", "diet pills")
		item := d.only(t, review.Filter{})

		const claimers = 8
		var wg sync.WaitGroup
		errs := make([]error, claimers)
		for i := range claimers {
			wg.Go(func() {
				_, errs[i] = d.queue.Claim(ctx, item.ID, review.Reviewer{ID: fmt.Sprintf("st_%d", i), Name: "r"})
			})
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, review.ErrClaimed):
				t.Errorf("claim: %v, want ErrClaimed", err)
			}
		}
		if won != 1 {
			t.Fatalf("%d claimers won, want exactly 1", won)
		}
	})
}

func TestNextConcurrentDistinctItems(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		d := newDesk(t, db, review.Options{})
		ctx := context.Background()
		r := d.recorder(t, review.Sampling{})
		for i := range 3 {
			d.exchange(t, r, "t1", "u1", safety.Review, "A5a", fmt.Sprint("prompt ", i))
		}
		const claimers = 8
		var wg sync.WaitGroup
		got := make([]*review.Lease, claimers)
		errs := make([]error, claimers)
		for i := range claimers {
			wg.Go(func() {
				got[i], errs[i] = d.queue.Next(ctx, review.Reviewer{ID: fmt.Sprintf("st_%d", i)}, review.Filter{})
			})
		}
		wg.Wait()
		seen := map[string]bool{}
		for i := range claimers {
			switch {
			case errs[i] == nil:
				if seen[got[i].Item.ID] {
					t.Errorf("item %s claimed twice", got[i].Item.ID)
				}
				seen[got[i].Item.ID] = true
			case !errors.Is(errs[i], review.ErrEmpty):
				t.Errorf("next: %v", errs[i])
			}
		}
		if len(seen) != 3 {
			t.Fatalf("%d items claimed, want all 3", len(seen))
		}
	})
}

func TestExpiredLeaseReturnsItemAndLostLeaseIsRefused(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		d := newDesk(t, db, review.Options{Lease: 5 * time.Minute})
		ctx := context.Background()
		d.exchange(t, d.recorder(t, review.Sampling{}), "t1", "u1", safety.Review, "A5a", "diet pills")
		item := d.only(t, review.Filter{})

		a, err := d.queue.Claim(ctx, item.ID, alice)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.queue.Next(ctx, bob, review.Filter{}); !errors.Is(err, review.ErrEmpty) {
			t.Fatalf("next while leased: %v, want ErrEmpty", err)
		}
		d.clock.Add(6 * time.Minute)
		b, err := d.queue.Next(ctx, bob, review.Filter{})
		if err != nil {
			t.Fatalf("expired lease did not return the item: %v", err)
		}
		if b.Item.ID != item.ID {
			t.Fatalf("bob got %s, want %s", b.Item.ID, item.ID)
		}
		if _, err := d.queue.Decide(ctx, item.ID, a.Token, alice, review.Decision{Verdict: review.NoViolation}); !errors.Is(err, review.ErrLeaseLost) {
			t.Fatalf("decision on a lost lease: %v, want ErrLeaseLost", err)
		}
		// A lease that expired with nobody else claiming is lost too.
		d.clock.Add(6 * time.Minute)
		if _, err := d.queue.Decide(ctx, item.ID, b.Token, bob, review.Decision{Verdict: review.NoViolation}); !errors.Is(err, review.ErrLeaseLost) {
			t.Fatalf("decision on an expired lease: %v, want ErrLeaseLost", err)
		}
		b, err = d.queue.Claim(ctx, item.ID, bob)
		if err != nil {
			t.Fatal(err)
		}
		done, err := d.queue.Decide(ctx, item.ID, b.Token, bob, review.Decision{Verdict: review.NoViolation})
		if err != nil {
			t.Fatal(err)
		}
		if done.State != review.StateDone || done.Outcome != review.NoViolation {
			t.Fatalf("item after decision: %+v", done)
		}
		if _, err := d.queue.Decide(ctx, item.ID, b.Token, bob, review.Decision{Verdict: review.Violation, Code: "A1a"}); !errors.Is(err, review.ErrLeaseLost) {
			t.Fatalf("second decision with a spent lease: %v, want ErrLeaseLost", err)
		}
		ds, err := d.queue.Decisions(ctx, item.ID)
		if err != nil || len(ds) != 1 {
			t.Fatalf("decisions: %v %+v, want one", err, ds)
		}
	})
}

func TestQueueOrderFiltersAndOverdue(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		d := newDesk(t, db, review.Options{SLA: map[review.Source]time.Duration{review.SourceReview: time.Hour, review.SourceSample: 10 * time.Hour}})
		ctx := context.Background()
		r := d.recorder(t, review.Sampling{Rate: 1})
		sample := d.exchange(t, r, "t1", "u1", safety.Allow, "", "weather")
		d.clock.Add(30 * time.Minute)
		diet := d.exchange(t, r, "t2", "u2", safety.Review, "A5a", "diet pills")
		d.clock.Add(time.Minute)
		bomb := d.exchange(t, r, "t1", "u3", safety.Review, "A1d", "bomb")

		items, err := d.queue.List(ctx, review.Filter{State: review.StateOpen})
		if err != nil {
			t.Fatal(err)
		}
		var order []string
		for _, it := range items {
			order = append(order, it.RecordID)
		}
		// Review items are due within the hour; the sample, older, within ten.
		want := []string{diet.ID, bomb.ID, sample.ID}
		if fmt.Sprint(order) != fmt.Sprint(want) {
			t.Fatalf("order %v, want %v", order, want)
		}
		for _, tc := range []struct {
			name string
			f    review.Filter
			want string
		}{
			{"code", review.Filter{Code: "A1d"}, bomb.ID},
			{"tenant and source", review.Filter{Tenant: "t1", Source: review.SourceReview}, bomb.ID},
			{"source", review.Filter{Source: review.SourceSample}, sample.ID},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if got := d.only(t, tc.f); got.RecordID != tc.want {
					t.Fatalf("got %s, want %s", got.RecordID, tc.want)
				}
			})
		}
		page, err := d.queue.List(ctx, review.Filter{Limit: 1})
		if err != nil || len(page) != 1 {
			t.Fatal(err)
		}
		rest, err := d.queue.List(ctx, review.Filter{After: page[0].Cursor()})
		if err != nil || len(rest) != 2 || rest[0].RecordID != bomb.ID {
			t.Fatalf("second page: %v %+v", err, rest)
		}

		d.clock.Add(2 * time.Hour) // the review items are now overdue
		overdue, err := d.queue.List(ctx, review.Filter{Overdue: true})
		if err != nil || len(overdue) != 2 {
			t.Fatalf("overdue: %v, %d items, want 2", err, len(overdue))
		}
		counts, err := d.queue.Counts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range counts {
			wantOpen, wantOver := map[review.Source][2]int{review.SourceReview: {2, 2}, review.SourceSample: {1, 0}}[c.Source][0],
				map[review.Source][2]int{review.SourceReview: {2, 2}, review.SourceSample: {1, 0}}[c.Source][1]
			if c.Open != wantOpen || c.Overdue != wantOver {
				t.Errorf("%s: open %d overdue %d, want %d %d", c.Source, c.Open, c.Overdue, wantOpen, wantOver)
			}
		}
		if !items[0].Overdue(d.clock.Now()) || items[2].Overdue(d.clock.Now()) {
			t.Errorf("overdue marks wrong: %v %v", items[0].Overdue(d.clock.Now()), items[2].Overdue(d.clock.Now()))
		}
	})
}
