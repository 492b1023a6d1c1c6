package sanction_test

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/firebreak/firebreak/notify"
	"github.com/firebreak/firebreak/sanction"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

// patience bounds waits for asynchronous delivery: long enough to catch
// only "never arrives".
const patience = 10 * time.Second

// TestReplicasOverNotify runs two replicas, each with its own notifier on
// the shared store as in production: a user blacklisted on one is refused
// by the other once the change_log notice arrives, and a lifted suspension
// is lifted on the other too.
func TestReplicasOverNotify(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a := newService(t, db, sanction.Options{Bus: openNotifier(t, db)})
		b := newService(t, db, sanction.Options{Bus: openNotifier(t, db)})
		sub := sanction.Subject{TenantID: "ten_1", EndUserID: "usr_1"}
		if _, ok := b.Blocked(ctx, sub); ok {
			t.Fatal("blocked before any entry")
		}
		mustAdd(t, a, sanction.Entry{TenantID: "ten_1", Kind: sanction.KindUser, Value: "usr_1"})
		eventually(t, "b blocks the user", func() bool { _, ok := b.Blocked(ctx, sub); return ok })

		if _, err := b.Standing(ctx, "ten_1", "usr_2"); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Impose(ctx, sanction.Imposition{TenantID: "ten_1", EndUserID: "usr_2", Action: sanction.Suspend,
			Reason: "manual", Actor: "adm_1"}); err != nil {
			t.Fatal(err)
		}
		eventually(t, "b sees the suspension", func() bool {
			st, err := b.Standing(ctx, "ten_1", "usr_2")
			return err == nil && st.Action == sanction.Suspend
		})
	})
}

func openNotifier(t *testing.T, db *store.DB) *notify.Notifier {
	t.Helper()
	n, err := notify.Open(context.Background(), db, notify.Options{PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// Registered before the service's cleanup, so it runs after it.
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Errorf("close notifier: %v", err)
		}
	})
	return n
}

// eventually polls cond until it holds, failing the test after patience.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, patience)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestBlacklistPropagationLatency measures, with the notifier's production
// settings, how long a blacklist entry added on one replica takes to be
// enforced by another. It reports the figures; the only bound is the
// "never arrives" patience.
func TestBlacklistPropagationLatency(t *testing.T) {
	if testing.Short() {
		t.Skip("measurement")
	}
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		replica := func() *sanction.Service {
			n, err := notify.Open(ctx, db, notify.Options{}) // production defaults
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { n.Close() })
			return newService(t, db, sanction.Options{Bus: n})
		}
		a, b := replica(), replica()
		var took []time.Duration
		for i := range 10 {
			user := "usr_lat_" + strconv.Itoa(i)
			start := time.Now()
			mustAdd(t, a, sanction.Entry{TenantID: "ten_1", Kind: sanction.KindUser, Value: user})
			eventually(t, "b blocks "+user, func() bool {
				_, ok := b.Blocked(ctx, sanction.Subject{TenantID: "ten_1", EndUserID: user})
				return ok
			})
			took = append(took, time.Since(start))
			time.Sleep(time.Duration(i*37%100) * time.Millisecond) // spread over the poll cycle
		}
		slices.Sort(took)
		t.Logf("%s: blacklist entry enforced by the other replica after p50 %v, max %v (10 entries)",
			db.Dialect(), took[len(took)/2].Round(time.Millisecond), took[len(took)-1].Round(time.Millisecond))
	})
}
