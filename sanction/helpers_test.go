package sanction_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/firebreak/firebreak/internal/testclock"
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

// fanout is an in-process Notifier that delivers every publication to
// every subscriber before Publish returns, so a test can look at the
// other replica right after a change.
type fanout struct {
	mu   sync.Mutex
	subs map[string]map[int]func(string)
	next int
	sent int
}

var _ sanction.Notifier = (*fanout)(nil)

func newFanout() *fanout { return &fanout{subs: map[string]map[int]func(string){}} }

func (f *fanout) Publish(_ context.Context, topic, payload string) error {
	f.mu.Lock()
	var fns []func(string)
	for _, fn := range f.subs[topic] {
		fns = append(fns, fn)
	}
	f.sent++
	f.mu.Unlock()
	for _, fn := range fns {
		fn(payload)
	}
	return nil
}

func (f *fanout) Subscribe(topic string, fn func(string)) func() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.subs[topic] == nil {
		f.subs[topic] = map[int]func(string){}
	}
	id := f.next
	f.next++
	f.subs[topic][id] = fn
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(f.subs[topic], id)
	}
}

func (f *fanout) subscribers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, m := range f.subs {
		n += len(m)
	}
	return n
}
