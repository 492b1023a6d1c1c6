package limit

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/firebreak/firebreak/clienterr"
)

// replicas builds n limiters on one Redis key space and one clock, as n
// gateway replicas would be.
func replicas(t *testing.T, n int, clk *clock) []*Limiter {
	t.Helper()
	c := redisClient(t)
	prefix := redisPrefix(t)
	ls := make([]*Limiter, n)
	for i := range ls {
		ls[i] = newLimiter(t, Options{Redis: c, KeyPrefix: prefix, Now: clk.Now})
	}
	return ls
}

// hammer makes attempts Acquire calls from each of workers goroutines,
// spread over the limiters, and counts the admitted ones. Tickets are kept
// open unless done is set.
func hammer(ls []*Limiter, workers, attempts int, lim Limits, done bool) (admitted int64, errs []error) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var n atomic.Int64
	for w := range workers {
		wg.Go(func() {
			l := ls[w%len(ls)]
			for range attempts {
				tk, err := l.Acquire(context.Background(), "key:shared", lim)
				var oe *clienterr.Error
				switch {
				case err == nil:
					n.Add(1)
					if done {
						tk.Done(1)
					}
				case !errors.As(err, &oe) || oe.Code != clienterr.RateLimited:
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return n.Load(), errs
}

func TestReplicasAreExact(t *testing.T) {
	cases := []struct {
		name   string
		limits Limits
		done   bool
		want   int64
	}{
		{"rpm", Limits{RPM: 50}, true, 50},
		{"concurrent", Limits{Concurrent: 7}, false, 7},
		{"rpm with slots", Limits{RPM: 40, Concurrent: 100}, true, 40},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ls := replicas(t, 2, newClock())
			got, errs := hammer(ls, 8, 25, tc.limits, tc.done)
			if len(errs) > 0 {
				t.Fatalf("unexpected errors: %v", errs)
			}
			if got != tc.want {
				t.Fatalf("admitted %d across replicas, want exactly %d", got, tc.want)
			}
		})
	}
}

func TestMemoryIsExactUnderConcurrency(t *testing.T) {
	l := newLimiter(t, Options{Now: newClock().Now})
	got, errs := hammer([]*Limiter{l}, 8, 25, Limits{RPM: 50, Concurrent: 200}, true)
	if len(errs) > 0 || got != 50 {
		t.Fatalf("admitted %d (errors %v), want exactly 50", got, errs)
	}
}

// deadRedis returns a client for a loopback port where nothing listens.
func deadRedis(t *testing.T) redis.UniversalClient {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialerRetries: 1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestBackendFailure(t *testing.T) {
	cases := []struct {
		name       string
		failClosed bool
		redis      bool // Redis down; otherwise the QuotaStore fails
	}{
		{"redis down fails open", false, true},
		{"redis down fails closed", true, true},
		{"quota store down fails open", false, false},
		{"quota store down fails closed", true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var failures atomic.Int64
			opts := Options{FailClosed: tc.failClosed, OnBackendError: func(error) { failures.Add(1) }}
			lim := Limits{TokenQuota: 10}
			if tc.redis {
				opts.Redis = deadRedis(t)
				lim = Limits{RPM: 1, Concurrent: 1}
			}
			store := newMapStore()
			if !tc.redis {
				store.err = errors.New("database is down")
				opts.Quota = store
			}
			l := newLimiter(t, opts)
			t.Cleanup(func() { // runs before Close flushes
				store.mu.Lock()
				store.err = nil
				store.mu.Unlock()
			})
			tk, err := l.Acquire(context.Background(), "k", lim)
			if failures.Load() == 0 {
				t.Error("OnBackendError was not called")
			}
			if !tc.failClosed {
				if err != nil {
					t.Fatalf("fail-open refused: %v", err)
				}
				tk.Done(5)
				return
			}
			oe := refusal(t, err)
			if oe.Code != clienterr.Unavailable || oe.RetryAfter < time.Second {
				t.Fatalf("got %s retry %v, want service_unavailable with Retry-After", oe.Code, oe.RetryAfter)
			}
			if oe.Err == nil {
				t.Error("the cause is not kept for logs")
			}
		})
	}
}

func TestRedisKeysExpire(t *testing.T) {
	c := redisClient(t)
	prefix := redisPrefix(t)
	l := newLimiter(t, Options{Redis: c, KeyPrefix: prefix})
	tk, err := l.Acquire(context.Background(), "k", Limits{RPM: 10, TPM: 10, Concurrent: 2})
	if err != nil {
		t.Fatal(err)
	}
	tk.Done(3)
	for _, suffix := range []string{"r", "t"} {
		ttl, err := c.PTTL(context.Background(), prefix+"{k}:"+suffix).Result()
		if err != nil {
			t.Fatal(err)
		}
		if ttl <= 0 || ttl > 62*time.Second {
			t.Errorf("key %s has TTL %v, want (0, 62s]", suffix, ttl)
		}
	}
	if n, _ := c.ZCard(context.Background(), prefix+"{k}:c").Result(); n != 0 {
		t.Errorf("%d slots left after Done, want 0", n)
	}
}

func TestBackendFailureIsLoggedOncePerInterval(t *testing.T) {
	var buf bytes.Buffer
	var failures, skipped atomic.Int64
	l := newLimiter(t, Options{
		Redis:    deadRedis(t),
		Logger:   slog.New(slog.NewTextHandler(&buf, nil)),
		LogEvery: time.Hour,
		Backoff:  time.Hour,
		OnBackendError: func(err error) {
			failures.Add(1)
			if errors.Is(err, ErrBackoff) {
				skipped.Add(1)
			}
		},
	})
	for range 5 {
		tk, err := l.Acquire(context.Background(), "user:private", Limits{RPM: 1})
		if err != nil {
			t.Fatalf("fail-open refused: %v", err)
		}
		tk.Done(0)
	}
	if n := strings.Count(buf.String(), "limit backend failed"); n != 1 {
		t.Errorf("logged %d times, want once:\n%s", n, buf.String())
	}
	if strings.Contains(buf.String(), "user:private") {
		t.Error("the log names the subject")
	}
	if failures.Load() != 5 {
		t.Errorf("OnBackendError called %d times, want 5", failures.Load())
	}
	if skipped.Load() != 4 {
		t.Errorf("Redis skipped %d times after the first failure, want 4", skipped.Load())
	}
}
