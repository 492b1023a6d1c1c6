package sanction_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/firebreak/firebreak/sanction"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

// twoReplicas returns two services on one database, each with its own
// change notifier, as two replicas of the gateway are.
func twoReplicas(t *testing.T, db *store.DB, c *clock) (a, b *sanction.Service) {
	t.Helper()
	a = newService(t, db, sanction.Options{Bus: openNotifier(t, db), Now: c.Now})
	b = newService(t, db, sanction.Options{Bus: openNotifier(t, db), Now: c.Now})
	return a, b
}

func TestReplicasShareBlacklist(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, b := twoReplicas(t, db, newClock())
		sub := sanction.Subject{TenantID: "ten_1", IP: netip.MustParseAddr("2001:db8::7")}
		if _, ok := b.Blocked(ctx, sub); ok {
			t.Fatal("blocked before any entry")
		}
		e := mustAdd(t, a, sanction.Entry{Kind: sanction.KindIP, Value: "2001:db8::/64"})
		eventually(t, "b blocks after a added the entry", func() bool {
			got, ok := b.Blocked(ctx, sub)
			return ok && got.ID == e.ID
		})
		if err := a.RemoveEntry(ctx, e.ID); err != nil {
			t.Fatal(err)
		}
		eventually(t, "b stops blocking after a removed the entry", func() bool {
			_, ok := b.Blocked(ctx, sub)
			return !ok
		})
	})
}

func TestReplicasShareStanding(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, b := twoReplicas(t, db, newClock())
		standing := func(s *sanction.Service) sanction.Action {
			t.Helper()
			st, err := s.Standing(ctx, "ten_1", "usr_1")
			if err != nil {
				t.Fatal(err)
			}
			return st.Action
		}
		if got := standing(b); got != sanction.None {
			t.Fatalf("b: standing %v before any sanction", got)
		}
		// b has cached good standing; a suspends by hand.
		sa, err := a.Impose(ctx, sanction.Imposition{TenantID: "ten_1", EndUserID: "usr_1", Action: sanction.Suspend,
			Reason: "complaint cmp_1 upheld", Actor: "adm_1"})
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, "b sees the suspension a imposed", func() bool { return standing(b) == sanction.Suspend })
		if _, err := b.Lift(ctx, sa.ID, "adm_2", "appeal upheld"); err != nil {
			t.Fatal(err)
		}
		eventually(t, "a sees the lift b made", func() bool { return standing(a) == sanction.None })
	})
}

func TestCloseUnsubscribes(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		n := &subscriptions{}
		s, err := sanction.New(context.Background(), sanction.Options{DB: db, Secret: testSecret, Bus: n})
		if err != nil {
			t.Fatal(err)
		}
		if got := n.count(); got != 2 {
			t.Fatalf("%d subscriptions, want 2", got)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if got := n.count(); got != 0 {
			t.Errorf("%d subscriptions after Close, want 0", got)
		}
	})
}

func TestStandingCache(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := newClock()
		// No notifier: a change made behind this replica's back is seen
		// after CacheTTL, not before.
		s := newService(t, db, sanction.Options{Now: c.Now})
		other := newService(t, db, sanction.Options{Now: c.Now})
		if st, err := s.Standing(ctx, "ten_1", "usr_1"); err != nil || st.Action != sanction.None {
			t.Fatalf("standing = %+v, %v", st, err)
		}
		if _, err := other.Impose(ctx, sanction.Imposition{TenantID: "ten_1", EndUserID: "usr_1",
			Action: sanction.Terminate, Reason: "court order", Actor: "adm_1"}); err != nil {
			t.Fatal(err)
		}
		if st, _ := s.Standing(ctx, "ten_1", "usr_1"); st.Action != sanction.None {
			t.Fatalf("standing = %v inside the TTL: the cache was not used", st.Action)
		}
		c.Add(31 * time.Second)
		if st, _ := s.Standing(ctx, "ten_1", "usr_1"); st.Action != sanction.Terminate {
			t.Fatalf("standing = %v after the TTL, want terminate", st.Action)
		}
	})
}

func TestLift(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := newClock()
		s := newService(t, db, sanction.Options{Now: c.Now})
		sa, err := s.Impose(ctx, sanction.Imposition{TenantID: "ten_1", EndUserID: "usr_1", Action: sanction.Suspend,
			Duration: 7 * day, Reason: "manual", Actor: "adm_1"})
		if err != nil {
			t.Fatal(err)
		}
		c.Add(day)
		lifted, err := s.Lift(ctx, sa.ID, "rev_2", "appeal upheld")
		if err != nil {
			t.Fatal(err)
		}
		if !lifted.LiftedAt.Equal(c.Now()) || lifted.LiftedBy != "rev_2" || lifted.LiftReason != "appeal upheld" {
			t.Errorf("lifted = %+v", lifted)
		}
		cases := []struct {
			name          string
			id, who, why  string
			notFound, dup bool
		}{
			{"again", sa.ID, "rev_2", "again", false, true},
			{"unknown", "snc_none", "rev_2", "x", true, false},
			{"no actor", sa.ID, "", "x", false, false},
			{"no reason", sa.ID, "rev_2", "", false, false},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.Lift(ctx, tc.id, tc.who, tc.why)
				if err == nil || errors.Is(err, store.ErrNotFound) != tc.notFound || errors.Is(err, sanction.ErrLifted) != tc.dup {
					t.Errorf("err = %v", err)
				}
			})
		}
		hist, err := s.History(ctx, "ten_1", "usr_1", 0)
		if err != nil || len(hist) != 1 || hist[0].LiftedBy != "rev_2" || hist[0].Actor != "adm_1" || hist[0].Step != -1 {
			t.Errorf("history = %+v, %v", hist, err)
		}
	})
}

func TestImpose(t *testing.T) {
	cases := []struct {
		name    string
		im      sanction.Imposition
		ok      bool
		allowed bool
	}{
		{"restrict", sanction.Imposition{Action: sanction.Restrict, Restrict: sanction.Restriction{RPM: 5, Models: []string{"general"}}}, true, true},
		{"warn", sanction.Imposition{Action: sanction.Warn}, true, true},
		{"terminate", sanction.Imposition{Action: sanction.Terminate}, true, false},
		{"none is not a sanction", sanction.Imposition{Action: sanction.None}, false, true},
		{"limits on a suspension", sanction.Imposition{Action: sanction.Suspend, Restrict: sanction.Restriction{RPM: 1}}, false, true},
		{"no reason", sanction.Imposition{Action: sanction.Warn, Reason: "-"}, false, true},
	}
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db, sanction.Options{})
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				im := tc.im
				im.TenantID, im.EndUserID, im.Reason, im.Actor = "ten_1", "usr_"+tc.name, "decision", "adm_1"
				if tc.im.Reason == "-" {
					im.Reason = ""
				}
				sa, err := s.Impose(ctx, im)
				if (err == nil) != tc.ok {
					t.Fatalf("err = %v, want ok %v", err, tc.ok)
				}
				st, err := s.Standing(ctx, "ten_1", im.EndUserID)
				if err != nil {
					t.Fatal(err)
				}
				if !tc.ok {
					if st.Action != sanction.None {
						t.Errorf("standing %v after a rejected imposition", st.Action)
					}
					return
				}
				if st.Action != im.Action || st.SanctionID != sa.ID || st.Allowed() != tc.allowed || (st.Err() == nil) != tc.allowed {
					t.Errorf("standing = %+v", st)
				}
				if st.Restrict.RPM != im.Restrict.RPM || len(st.Restrict.Models) != len(im.Restrict.Models) {
					t.Errorf("restriction = %+v, want %+v", st.Restrict, im.Restrict)
				}
			})
		}
	})
}
