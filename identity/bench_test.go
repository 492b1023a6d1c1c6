package identity_test

import (
	"context"
	"testing"
	"time"

	"github.com/firebreak/firebreak/identity"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

// BenchmarkCheckAndMinorGate measures what the gateway adds to every
// request of a verified adult: Check and MinorGate, both on a cache hit.
func BenchmarkCheckAndMinorGate(b *testing.B) {
	db := storetest.Open(b, store.Options{DataDir: b.TempDir()})
	// The real clock: the tests' settable clock takes a lock.
	e := newEnv(b, db, identity.Options{CacheTTL: time.Hour, Now: time.Now, Requirements: identity.Requirements{
		MinLevel: map[string]identity.Level{"*": identity.LevelPhone, "law": identity.LevelIDDocument}}})
	u := e.user(b, "bench")
	e.verifyPhone(b, u, "13812345678")
	ctx, now := context.Background(), time.Now()
	if err := e.svc.Check(ctx, u, "general"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := e.svc.Check(ctx, u, "general"); err != nil {
				b.Fatal(err)
			}
			if err := e.svc.MinorGate(ctx, u, now); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkMinorGateCount measures a minor's request, which writes the
// daily counter to SQLite.
func BenchmarkMinorGateCount(b *testing.B) {
	db := storetest.Open(b, store.Options{DataDir: b.TempDir()})
	e := newEnv(b, db, identity.Options{CacheTTL: time.Hour,
		Minors: identity.MinorOptions{DailyRequests: 1 << 30, QuietHours: "off"}})
	u := e.user(b, "kid")
	if err := e.svc.VerifyIDDocument(context.Background(), u, "小明", idFor("20120601")); err != nil {
		b.Fatal(err)
	}
	ctx, now := context.Background(), e.clock.Now()
	b.ReportAllocs()
	for b.Loop() {
		if err := e.svc.MinorGate(ctx, u, now); err != nil {
			b.Fatal(err)
		}
	}
}
