package sanction_test

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"time"

	"github.com/firebreak/firebreak/internal/testclock"
	"github.com/firebreak/firebreak/notify"
	"github.com/firebreak/firebreak/sanction"
	"github.com/firebreak/firebreak/store"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

// clock is a settable time source, starting at noon in Shanghai.
type clock = testclock.Clock

func newClock() *clock { return testclock.New(time.Date(2025, 11, 1, 4, 0, 0, 0, time.UTC)) }

// newService returns a Service on db, closed when the test ends. Unset
// Secret and Now get test values.
func newService(t testing.TB, db *store.DB, opts sanction.Options) *sanction.Service {
	t.Helper()
	opts.DB = db
	if opts.Secret == nil {
		opts.Secret = testSecret
	}
	s, err := sanction.New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close sanctions: %v", err)
		}
	})
	return s
}

// subscriptions is a Bus that publishes nowhere and counts the
// subscriptions held on it.
type subscriptions struct {
	mu sync.Mutex
	n  int
}

var _ notify.Bus = (*subscriptions)(nil)

func (*subscriptions) PublishTx(context.Context, *sql.Tx, string, string) error { return nil }

func (b *subscriptions) Subscribe(string, func(string)) func() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n++
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.n--
		})
	}
}

func (b *subscriptions) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n
}
