package limit

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
)

// benchSubjects are a key and a user with limits that never refuse, so each
// iteration takes the full admit and Done path.
var benchSubjects = []Subject{
	{Name: "key:bench", Limits: Limits{RPM: 1 << 30, Concurrent: 1 << 20, TPM: 1 << 30}, Label: "key"},
	{Name: "user:bench", Limits: Limits{RPM: 1 << 30, Concurrent: 1 << 20}, Label: "user"},
}

func benchLimiter(b *testing.B, redis bool) *Limiter {
	b.Helper()
	opts := Options{}
	if redis {
		opts.Redis = redisClient(b)
		opts.KeyPrefix = redisPrefix(b)
	}
	l, err := New(opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = l.Close(context.Background()) })
	return l
}

func BenchmarkAcquireDone(b *testing.B) {
	for _, redis := range []bool{false, true} {
		backend := "memory"
		if redis {
			backend = "redis"
		}
		for _, n := range []int{1, 2} {
			subjects := benchSubjects[:n]
			b.Run(backend+"/subjects="+strconv.Itoa(n), func(b *testing.B) {
				l := benchLimiter(b, redis)
				ctx := context.Background()
				b.ReportAllocs()
				for b.Loop() {
					tk, err := l.AcquireAll(ctx, subjects)
					if err != nil {
						b.Fatal(err)
					}
					tk.Done(10)
				}
			})
			b.Run(backend+"/subjects="+strconv.Itoa(n)+"/parallel", func(b *testing.B) {
				l := benchLimiter(b, redis)
				b.ReportAllocs()
				benchParallel(b, l, subjects)
			})
		}
	}
}

// BenchmarkAcquireDoneManySubjects spreads parallel callers over 1024 keys,
// as a gateway with many tenants would.
func BenchmarkAcquireDoneManySubjects(b *testing.B) {
	l := benchLimiter(b, false)
	var next atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		s := []Subject{{Name: "key:" + strconv.Itoa(int(next.Add(1))), Limits: benchSubjects[0].Limits}}
		i := 0
		for pb.Next() {
			s[0].Name = "key:" + strconv.Itoa(i&1023)
			i++
			tk, err := l.AcquireAll(ctx, s)
			if err != nil {
				b.Fatal(err)
			}
			tk.Done(10)
		}
	})
}

func benchParallel(b *testing.B, l *Limiter, subjects []Subject) {
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			tk, err := l.AcquireAll(ctx, subjects)
			if err != nil {
				b.Fatal(err)
			}
			tk.Done(10)
		}
	})
}

// BenchmarkRedisPingBaseline is one bare round trip to the same Redis, to
// read the Redis figures above against (Acquire+Done is two round trips).
func BenchmarkRedisPingBaseline(b *testing.B) {
	c := redisClient(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Ping(ctx).Err(); err != nil {
			b.Fatal(err)
		}
	}
}
