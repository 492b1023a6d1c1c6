package audit

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/firebreak/firebreak/safety"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

// Staff actions go on the request chain and read back as the same action;
// filters tell them from requests, and the chain still verifies.
func TestStaffActions(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tr := newTrail(t, db, Options{})
		t0 := time.Date(2025, 11, 1, 12, 0, 0, 0, time.UTC)
		if err := tr.Append(ctx, Record{Time: t0, TenantID: "ten_a", Model: "m", Route: "direct", Status: 200, Outcome: OutcomeOK}); err != nil {
			t.Fatal(err)
		}
		want := Action{Time: t0.Add(time.Second), RequestID: "req1", Actor: "alice", Via: "session:ses_1",
			Name: "POST /admin/v1/policy/publish", Target: "/admin/v1/policy/publish", Status: 200, Outcome: OutcomeOK,
			Details: []string{"reason=weekly update"}}
		if err := tr.Append(ctx, want.Record()); err != nil {
			t.Fatal(err)
		}
		denied := Action{Time: t0.Add(2 * time.Second), Actor: "rita", Via: "token:abc", Name: "GET /admin/v1/staff",
			Target: "/admin/v1/staff", Status: 403, Outcome: OutcomeDenied}
		if err := tr.Append(ctx, denied.Record()); err != nil {
			t.Fatal(err)
		}
		staff, err := tr.Search(ctx, Query{Route: RouteStaff, Newest: true})
		if err != nil || len(staff) != 2 {
			t.Fatalf("staff actions: %v %d", err, len(staff))
		}
		got, ok := staff[1].Action()
		if !ok || got.Actor != want.Actor || got.Name != want.Name || got.Via != want.Via || !slices.Equal(got.Details, want.Details) ||
			!got.Time.Equal(want.Time) || got.Outcome != OutcomeOK {
			t.Fatalf("read back %+v, want %+v", got, want)
		}
		if a, _ := staff[0].Action(); a.Actor != "rita" || a.Outcome != OutcomeDenied {
			t.Fatalf("newest first: %+v", a)
		}
		byActor, _ := tr.Search(ctx, Query{EndUser: ActorEndUser("alice")})
		reqs, _ := tr.Search(ctx, Query{Requests: true})
		if len(byActor) != 1 || len(reqs) != 1 || reqs[0].Route != "direct" {
			t.Fatalf("by actor %d, requests %d", len(byActor), len(reqs))
		}
		if _, ok := reqs[0].Action(); ok {
			t.Fatal("a request read as a staff action")
		}
		wantOK(t, mustVerify(t, db))
	})
}

func TestSummary(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tr := newTrail(t, db, Options{})
		t0 := time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC)
		recs := []Record{
			{Time: t0.Add(10 * time.Minute), TenantID: "a", Upstream: "u1", Outcome: OutcomeOK, Timings: Timings{TotalMs: 40}},
			{Time: t0.Add(70 * time.Minute), TenantID: "a", Upstream: "u1", Outcome: OutcomeRefused, Input: Decision{Action: safety.Refuse, Code: "A1a"}, Timings: Timings{TotalMs: 400}},
			{Time: t0.Add(80 * time.Minute), TenantID: "b", Upstream: "u2", Outcome: OutcomeUpstreamError, Timings: Timings{TotalMs: 4000}},
			{Time: t0.Add(90 * time.Minute), TenantID: "b", Outcome: OutcomeRejected},
			{Time: t0.Add(5 * time.Hour), TenantID: "a"}, // outside the range
		}
		for i := range recs {
			recs[i].Route = "direct"
		}
		mustAppend(t, tr, recs...)
		mustAppend(t, tr, Action{Time: t0.Add(time.Minute), Actor: "x", Name: "login", Outcome: OutcomeOK}.Record())
		s, err := tr.Summary(ctx, SummaryQuery{From: t0, To: t0.Add(2 * time.Hour), Buckets: 2})
		if err != nil {
			t.Fatal(err)
		}
		if s.Total.Requests != 4 || s.Buckets[0].Requests != 1 || s.Buckets[1].Requests != 3 || s.Total.Refused != 1 ||
			s.Total.Errors != 1 || s.Total.Rejected != 1 {
			t.Fatalf("totals %+v buckets %+v", s.Total, s.Buckets)
		}
		if len(s.Codes) != 1 || s.Codes[0] != (CodeTotal{Code: "A1a", Count: 1}) {
			t.Fatalf("codes %+v", s.Codes)
		}
		if len(s.Upstreams) != 2 || s.Upstreams[0] != (UpstreamTotal{Upstream: "u1", Requests: 2}) || s.Upstreams[1].Errors != 1 {
			t.Fatalf("upstreams %+v", s.Upstreams)
		}
		if s.P50 != 500 || s.P99 != 5000 {
			t.Fatalf("p50 %d p99 %d", s.P50, s.P99)
		}
		only, err := tr.Summary(ctx, SummaryQuery{From: t0, To: t0.Add(2 * time.Hour), TenantIDs: []string{"b"}})
		if err != nil || only.Total.Requests != 2 {
			t.Fatalf("tenant b: %v %+v", err, only)
		}
	})
}
