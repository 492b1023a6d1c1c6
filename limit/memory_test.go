package limit

import (
	"context"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

// TestWindowNeverExceedsLimit drives a window with random arrivals and
// checks it against an exact log: no 60-second span holds more admitted
// requests than the limit, and RetryAfter is the first moment that admits.
func TestWindowNeverExceedsLimit(t *testing.T) {
	for _, limit := range []int{1, 3, 10, 100} {
		t.Run("limit="+strconv.Itoa(limit), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(limit), 7))
			var w window
			now := time.Unix(1_700_000_000, 0)
			var log []time.Time
			for range 5000 {
				now = now.Add(time.Duration(r.Int64N(int64(3 * time.Minute / time.Duration(limit)))))
				w.advance(now.Unix())
				if !w.admits(limit) {
					checkRetry(t, w, now, limit)
					continue
				}
				w.add(now.Unix(), 1)
				log = append(log, now)
				if n := countSince(log, now.Add(-60*time.Second)); n > limit {
					t.Fatalf("%d requests admitted within 60s, limit %d", n, limit)
				}
			}
			if len(log) < limit {
				t.Fatalf("only %d admitted: the test exercised nothing", len(log))
			}
		})
	}
}

// checkRetry asserts that w admits at now+retry and not one second before.
func checkRetry(t *testing.T, w window, now time.Time, limit int) {
	t.Helper()
	retry := w.retryAfter(now, limit)
	at := w
	at.advance(now.Add(retry).Unix())
	if !at.admits(limit) {
		t.Fatalf("still refused after RetryAfter %v", retry)
	}
	if retry > time.Second {
		before := w
		before.advance(now.Add(retry - time.Second).Unix())
		if before.admits(limit) {
			t.Fatalf("RetryAfter %v is a second too long", retry)
		}
	}
}

func countSince(log []time.Time, since time.Time) (n int) {
	for _, at := range log {
		if at.After(since) {
			n++
		}
	}
	return n
}

func TestIdleSubjectsAreEvicted(t *testing.T) {
	clk := newClock()
	l := newLimiter(t, Options{Now: clk.Now})
	ctx := context.Background()
	for i := range 100 {
		tk, err := l.Acquire(ctx, "user:"+strconv.Itoa(i), Limits{RPM: 5, Concurrent: 2})
		if err != nil {
			t.Fatal(err)
		}
		tk.Done(0)
	}
	open, err := l.Acquire(ctx, "user:open", Limits{Concurrent: 1})
	if err != nil {
		t.Fatal(err)
	}
	quota, err := l.Acquire(ctx, "user:quota", Limits{TokenQuota: 50})
	if err != nil {
		t.Fatal(err)
	}
	quota.Done(30) // no store: this usage lives only here

	if got := l.subj.len(); got != 102 {
		t.Fatalf("%d subjects, want 102", got)
	}
	if n := l.subj.sweep(clk.Now().Add(-l.opts.IdleAfter)); n != 0 {
		t.Fatalf("evicted %d fresh subjects", n)
	}
	clk.Add(3 * time.Minute)
	if n := l.subj.sweep(clk.Now().Add(-l.opts.IdleAfter)); n != 100 {
		t.Fatalf("evicted %d, want the 100 idle ones", n)
	}
	// The survivors keep their state: the slot is still held, the usage kept.
	if _, err := l.Acquire(ctx, "user:open", Limits{Concurrent: 1}); err == nil {
		t.Error("slot of an open ticket was lost")
	}
	open.Done(0)
	if tk, err := l.Acquire(ctx, "user:quota", Limits{TokenQuota: 50}); err != nil {
		t.Fatal(err)
	} else {
		tk.Done(30)
	}
	if _, err := l.Acquire(ctx, "user:quota", Limits{TokenQuota: 50}); err == nil {
		t.Error("quota usage was lost by eviction")
	}
}

func TestDoneAfterEvictionStillCounts(t *testing.T) {
	clk := newClock()
	l := newLimiter(t, Options{Now: clk.Now})
	ctx := context.Background()
	lim := Limits{TPM: 10}
	tk, err := l.Acquire(ctx, "k", lim)
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(3 * time.Minute)
	if n := l.subj.sweep(clk.Now().Add(-l.opts.IdleAfter)); n != 1 {
		t.Fatalf("evicted %d, want 1", n)
	}
	tk.Done(10) // lands on a fresh entry for "k"
	if _, err := l.Acquire(ctx, "k", lim); err == nil {
		t.Fatal("tokens recorded after eviction were lost")
	}
}

func TestAcquireDoneDoesNotAllocateBeyondTheTicket(t *testing.T) {
	l := newLimiter(t, Options{})
	ctx := context.Background()
	subjects := []Subject{
		{Name: "key:1", Limits: Limits{RPM: 1 << 30, Concurrent: 100, TPM: 1 << 30}},
		{Name: "user:1", Limits: Limits{RPM: 1 << 30, TokenQuota: 1 << 50}},
	}
	allocs := testing.AllocsPerRun(1000, func() {
		tk, err := l.AcquireAll(ctx, subjects)
		if err != nil {
			t.Fatal(err)
		}
		tk.Done(10)
	})
	if allocs > 1 {
		t.Fatalf("%v allocations per AcquireAll+Done, want 1 (the ticket)", allocs)
	}
	allocs = testing.AllocsPerRun(1000, func() {
		tk, err := l.Acquire(ctx, "key:2", subjects[0].Limits)
		if err != nil {
			t.Fatal(err)
		}
		tk.Done(10)
	})
	if allocs > 1 {
		t.Fatalf("%v allocations per Acquire+Done, want 1 (the ticket)", allocs)
	}
}
