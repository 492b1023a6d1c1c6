package limit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/internal/testclock"
)

// clock is a settable time source.
type clock = testclock.Clock

func newClock() *clock { return testclock.New(time.Unix(1_700_000_000, 250_000_000)) }

// mapStore is an in-memory QuotaStore.
type mapStore struct {
	mu    sync.Mutex
	usage map[string]int64
	err   error // returned by every call when set
}

func newMapStore() *mapStore { return &mapStore{usage: map[string]int64{}} }

func (s *mapStore) Usage(_ context.Context, subject string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return 0, s.err
	}
	return s.usage[subject], nil
}

func (s *mapStore) AddUsage(_ context.Context, subject string, tokens int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.usage[subject] += tokens
	return nil
}

func (s *mapStore) get(subject string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.usage[subject]
}

// backend names a way to build limiters that share state: every call of
// build in one test returns a limiter on the same store.
type backend struct {
	name  string
	build func(t *testing.T, opts Options) *Limiter
}

func backends(t *testing.T) []backend {
	t.Helper()
	bs := []backend{{name: "memory", build: newLimiter}}
	if os.Getenv("FIREBREAK_TEST_REDIS") == "off" {
		return bs
	}
	return append(bs, backend{name: "redis", build: func(t *testing.T, opts Options) *Limiter {
		t.Helper()
		opts.Redis = redisClient(t)
		if opts.KeyPrefix == "" {
			opts.KeyPrefix = redisPrefix(t)
		}
		return newLimiter(t, opts)
	}})
}

func newLimiter(t *testing.T, opts Options) *Limiter {
	t.Helper()
	l, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := l.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return l
}

// redisClient connects to the test Redis on loopback. An unreachable Redis
// fails the test unless FIREBREAK_TEST_REDIS=off.
func redisClient(t testing.TB) *redis.Client {
	t.Helper()
	if os.Getenv("FIREBREAK_TEST_REDIS") == "off" {
		t.Skip("FIREBREAK_TEST_REDIS=off")
	}
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("redis on 127.0.0.1:6379 unreachable (set FIREBREAK_TEST_REDIS=off to skip): %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// redisPrefix returns a key prefix unique to this test and deletes its keys
// when the test ends.
func redisPrefix(t testing.TB) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	p := "fbtest:" + strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()) + ":" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
		defer c.Close()
		ctx := context.Background()
		iter := c.Scan(ctx, 0, p+"*", 100).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
	return p
}

// refusal asserts that err is a limit refusal and returns it.
func refusal(t *testing.T, err error) *clienterr.Error {
	t.Helper()
	var oe *clienterr.Error
	if !errors.As(err, &oe) {
		t.Fatalf("error %v is not an *clienterr.Error", err)
	}
	return oe
}
