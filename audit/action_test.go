package audit

import (
	"context"
	"slices"
	"testing"
	"time"

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
