package account_test

import (
	"context"
	"testing"
	"time"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/internal/testclock"
	"github.com/firebreak/firebreak/notify"
	"github.com/firebreak/firebreak/store"
)

// clock is a settable time source.
type clock = testclock.Clock

func newClock() *clock { return testclock.New(time.Date(2025, 11, 1, 12, 0, 0, 0, time.UTC)) }

// newService returns a Service on db that is closed when the test ends.
func newService(t testing.TB, db *store.DB, opts account.Options) *account.Service {
	t.Helper()
	opts.DB = db
	s, err := account.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close accounts: %v", err)
		}
	})
	return s
}

// mustTenant creates a tenant or fails the test.
func mustTenant(t testing.TB, s *account.Service, tn account.Tenant) *account.Tenant {
	t.Helper()
	out, err := s.Tenants.Create(context.Background(), tn)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// mustKey creates a key or fails the test, and returns it with its plaintext.
func mustKey(t testing.TB, s *account.Service, k account.Key) (*account.Key, string) {
	t.Helper()
	out, plain, err := s.Keys.Create(context.Background(), k)
	if err != nil {
		t.Fatal(err)
	}
	return out, plain
}

// openBus opens a change notifier on db, as every replica has one.
func openBus(t testing.TB, db *store.DB) *notify.Notifier {
	t.Helper()
	n, err := notify.Open(context.Background(), db, notify.Options{PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	return n
}

// eventually calls check until it returns nil, failing the test with its
// last error after ten seconds: a notice from another replica arrives
// asynchronously.
func eventually(t testing.TB, check func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
