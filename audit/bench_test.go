package audit

import (
	"context"
	"testing"
	"time"

	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

// benchStores opens a fresh database of each dialect for a benchmark.
var benchStores = []struct {
	name string
	open func(b *testing.B) *store.DB
}{
	{"sqlite", func(b *testing.B) *store.DB { return storetest.Open(b, store.Options{DataDir: b.TempDir()}) }},
	{"postgres", func(b *testing.B) *store.DB { return storetest.Open(b, store.Options{DSN: storetest.PostgresDSN(b)}) }},
}

// BenchmarkAppend measures Append from 16 goroutines per core: group commit
// (MaxBatch 256) against one transaction per record (MaxBatch 1). Every
// third record is flagged and encrypted; the rest are hashed.
func BenchmarkAppend(b *testing.B) {
	for _, s := range benchStores {
		for _, mode := range []struct {
			name  string
			batch int
		}{{"batched", 256}, {"unbatched", 1}} {
			b.Run(s.name+"/"+mode.name, func(b *testing.B) {
				db := s.open(b)
				tr := newTrail(b, db, Options{Keys: testKeyring(b, "a"), MaxBatch: mode.batch})
				rec := sample(3, time.Now())
				b.SetParallelism(16)
				b.ReportAllocs()
				start := time.Now()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					i := 0
					for pb.Next() {
						r := rec
						if i++; i%3 != 0 {
							r.Input = Decision{}
						}
						if err := tr.Append(context.Background(), r); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
				if st := tr.Stats(); st.Batches > 0 {
					b.ReportMetric(float64(st.Records)/float64(st.Batches), "records/batch")
				}
			})
		}
	}
}

// BenchmarkVerify measures Verify over a chain of 100,000 records; one op
// is one full walk.
func BenchmarkVerify(b *testing.B) {
	const n = 100_000
	for _, s := range benchStores {
		b.Run(s.name+"/100k", func(b *testing.B) {
			db := s.open(b)
			tr := newTrail(b, db, Options{Keys: testKeyring(b, "a")})
			fillChain(b, tr, n)
			b.ResetTimer()
			for b.Loop() {
				rep, err := Verify(context.Background(), db)
				if err != nil || !rep.OK || rep.Records != n {
					b.Fatalf("verify: %+v, %v", rep, err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/record")
		})
	}
}

// fillChain writes n records through the writer's batch path directly,
// 1,000 per transaction.
func fillChain(b *testing.B, tr *Trail, n int) {
	b.Helper()
	base := time.Now()
	batch := make([]*pending, 0, 1000)
	for i := range n {
		p, err := tr.prepare(new(sample(i, base.Add(time.Duration(i)*time.Millisecond))))
		if err != nil {
			b.Fatal(err)
		}
		batch = append(batch, p)
		if len(batch) == cap(batch) || i == n-1 {
			if err := tr.writeBatch(batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
}
