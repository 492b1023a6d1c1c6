package sanction_test

import (
	"context"
	"testing"
	"time"

	"github.com/firebreak/firebreak/sanction"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

// TestRetention: after the retention period, violations and the
// sanctions no longer in force are purged; a termination still in force
// and everything recent stay.
func TestRetention(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := newClock()
		s := newService(t, db, sanction.Options{Now: clk.Now})
		if _, err := s.RecordViolation(ctx, sanction.Violation{TenantID: "t", EndUserID: "u", Code: "A1a"}); err != nil {
			t.Fatal(err)
		}
		suspended, err := s.Impose(ctx, sanction.Imposition{TenantID: "t", EndUserID: "u", Action: sanction.Suspend,
			Duration: time.Hour, Reason: "complaint", Actor: "admin"})
		if err != nil {
			t.Fatal(err)
		}
		terminated, err := s.Impose(ctx, sanction.Imposition{TenantID: "t", EndUserID: "v", Action: sanction.Terminate,
			Reason: "complaint", Actor: "admin"})
		if err != nil {
			t.Fatal(err)
		}
		clk.Add(200 * 24 * time.Hour)
		if _, err := s.RecordViolation(ctx, sanction.Violation{TenantID: "t", EndUserID: "u", Code: "A1b"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Purge(ctx, clk.Now().Add(-sanction.DefaultKeep)); err != nil {
			t.Fatal(err)
		}
		vs, err := s.Violations(ctx, "t", "u", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(vs) != 1 || vs[0].Code != "A1b" {
			t.Errorf("violations after the purge %+v, want only the recent A1b", vs)
		}
		if sa, err := s.Sanction(ctx, suspended.ID); err == nil && sa != nil {
			t.Errorf("an expired suspension older than the retention period was kept: %+v", sa)
		}
		if sa, err := s.Sanction(ctx, terminated.ID); err != nil || sa == nil {
			t.Errorf("a termination in force was purged: %v", err)
		}
		if st, _ := s.Standing(ctx, "t", "v"); st.Action != sanction.Terminate {
			t.Errorf("standing of the terminated user after the purge: %+v", st)
		}
	})
}
