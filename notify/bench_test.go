package notify_test

import (
	"testing"
	"time"

	"github.com/firebreak/firebreak/notify"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

// BenchmarkPublishReceive measures one publication until a subscriber has
// it, one at a time: in process with no store; on SQLite, where the
// publishing process is the only one; and on PostgreSQL from one replica to
// another through LISTEN/NOTIFY. It reports the p50 and p99 of the
// per-publication latency beside ns/op.
func BenchmarkPublishReceive(b *testing.B) {
	b.Run("local", func(b *testing.B) {
		n := notify.NewLocal()
		b.Cleanup(func() { _ = n.Close() })
		benchPublishReceive(b, n, n)
	})
	b.Run("sqlite", func(b *testing.B) {
		db := storetest.Open(b, store.Options{DataDir: b.TempDir()})
		n := open(b, db, notify.Options{})
		benchPublishReceive(b, n, n)
	})
	b.Run("postgres", func(b *testing.B) {
		db := storetest.Open(b, store.Options{DSN: storetest.PostgresDSN(b)})
		pub, sub := open(b, db, notify.Options{}), open(b, db, notify.Options{})
		benchPublishReceive(b, pub, sub)
	})
}

func benchPublishReceive(b *testing.B, pub, sub *notify.Notifier) {
	r := record(b, sub, "bench")
	// Warm up, and on PostgreSQL wait for the listener to be in place.
	publish(b, pub, "bench", "warm-up")
	r.wait(b, 1)
	lat := make([]time.Duration, 0, 1024)
	i := 1
	for b.Loop() {
		start := time.Now()
		publish(b, pub, "bench", "v")
		r.wait(b, i+1)
		lat = append(lat, r.arrivedAt(i).Sub(start))
		i++
	}
	b.ReportMetric(float64(percentile(lat, 50).Microseconds()), "p50-µs")
	b.ReportMetric(float64(percentile(lat, 99).Microseconds()), "p99-µs")
}
