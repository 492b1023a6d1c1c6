package audit

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
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
// cpu-µs/record is the whole process's CPU per record.
func BenchmarkAppend(b *testing.B) {
	for _, s := range benchStores {
		for _, mode := range []struct {
			name  string
			batch int
		}{{"batched", 256}, {"unbatched", 1}} {
			b.Run(s.name+"/"+mode.name, func(b *testing.B) {
				db := s.open(b)
				tr := newTrail(b, db, Options{Keys: testKeyring(b, "a"), MaxBatch: mode.batch})
				b.ReportAllocs()
				start, cpu := time.Now(), processCPU()
				b.ResetTimer()
				appendParallel(b, tr, nil)
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
				reportCPU(b, cpu)
				if st := tr.Stats(); st.Batches > 0 {
					b.ReportMetric(float64(st.Records)/float64(st.Batches), "records/batch")
				}
			})
		}
	}
}

// BenchmarkAppendOne appends from one goroutine, one record at a time, as
// a gateway with one client does: every record is its own transaction.
func BenchmarkAppendOne(b *testing.B) {
	for _, s := range benchStores {
		b.Run(s.name, func(b *testing.B) {
			tr := newTrail(b, s.open(b), Options{Keys: testKeyring(b, "a")})
			rec := sample(3, time.Now())
			b.ReportAllocs()
			cpu := processCPU()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				r := rec
				if i%3 != 0 {
					r.Input = Decision{}
				}
				if err := tr.Append(context.Background(), r); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu)
		})
	}
}

// BenchmarkAppendLog measures what each record costs in SQLite's
// write-ahead log: appends from 16 goroutines per core, as in
// BenchmarkAppend but with request ids that grow with time and 100 end
// users, on a store whose log is never checkpointed during the
// run, so the log file's size at the end is every byte the commits wrote
// to it. log-B/record is that size per record; pages/batch the 4 KiB
// pages one commit wrote. Two ways: parallel, and one at a time (every
// commit a batch of one record, as at one request in flight).
func BenchmarkAppendLog(b *testing.B) {
	// Request ids grow with time, as the gateway makes them, and end users
	// are many: each record of a commit lands on its own page of the index
	// on end users.
	vary := func(r *Record) {
		r.RequestID = "req_" + NewID(time.Now())
		r.EndUser = fmt.Sprintf("user-%d", rand.IntN(100))
	}
	for _, mode := range []string{"parallel", "one"} {
		b.Run(mode, func(b *testing.B) {
			dir := b.TempDir()
			db := storetest.Open(b, store.Options{DataDir: dir, WALLimit: 1 << 40, WALCheckpointEvery: time.Hour})
			tr := newTrail(b, db, Options{Keys: testKeyring(b, "a")})
			walStart := walSize(b, dir)
			start, cpu := time.Now(), processCPU()
			b.ResetTimer()
			if mode == "parallel" {
				appendParallel(b, tr, vary)
			} else {
				rec := sample(3, time.Now())
				for i := 0; b.Loop(); i++ {
					r := rec
					if i%3 != 0 {
						r.Input = Decision{}
					}
					vary(&r)
					if err := tr.Append(context.Background(), r); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
			reportCPU(b, cpu)
			st := tr.Stats()
			logBytes := float64(walSize(b, dir) - walStart)
			b.ReportMetric(logBytes/float64(st.Records), "log-B/record")
			b.ReportMetric(float64(st.Records)/float64(st.Batches), "records/batch")
			b.ReportMetric(logBytes/(4096+24)/float64(st.Batches), "pages/batch")
		})
	}
}

func walSize(b *testing.B, dir string) int64 {
	b.Helper()
	fi, err := os.Stat(filepath.Join(dir, "firebreak.db-wal"))
	if err != nil {
		b.Fatal(err)
	}
	return fi.Size()
}

// appendParallel appends b.N records from 16 goroutines per core: every
// third is flagged and encrypted, the rest hashed; vary, if set, changes
// each record further.
func appendParallel(b *testing.B, tr *Trail, vary func(r *Record)) {
	b.Helper()
	rec := sample(3, time.Now())
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			r := rec
			if i++; i%3 != 0 {
				r.Input = Decision{}
			}
			if vary != nil {
				vary(&r)
			}
			if err := tr.Append(context.Background(), r); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// reportCPU adds the process's CPU time per record since start: on a
// shared machine it varies less than wall time, which includes waiting for
// a core. On PostgreSQL the server's own CPU is not counted.
func reportCPU(b *testing.B, start time.Duration) {
	b.Helper()
	if cpu := processCPU() - start; cpu > 0 && b.N > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/record")
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

// BenchmarkAppendRate appends at a fixed rate, open loop, as the gateway
// does at 1,000 requests/s: record i is due at start + i/rate whatever
// happened before, and 32 goroutines send them (a record that finds every
// goroutine busy starts late, as in test/bench). It reports the latency of
// Append (p50, p99, max), which every answer waits for, the mean batch and
// the CPU per record; 3,000/s is also run with a BatchWait. Run it with
// -benchtime=Nx: N records take N/rate seconds.
func BenchmarkAppendRate(b *testing.B) {
	cases := []struct {
		rate int
		wait time.Duration
	}{{1000, 0}, {3000, 0}, {3000, 250 * time.Microsecond}}
	for _, s := range benchStores {
		for _, c := range cases {
			b.Run(fmt.Sprintf("%s/rate=%d/wait=%v", s.name, c.rate, c.wait), func(b *testing.B) {
				tr := newTrail(b, s.open(b), Options{Keys: testKeyring(b, "a"), BatchWait: c.wait})
				start := processCPU()
				lat := appendAtRate(b, tr, c.rate, 32)
				reportCPU(b, start)
				slices.Sort(lat)
				pct := func(p float64) float64 { return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) }
				b.ReportMetric(pct(0.50), "p50-µs")
				b.ReportMetric(pct(0.99), "p99-µs")
				b.ReportMetric(float64(lat[len(lat)-1].Microseconds()), "max-µs")
				if st := tr.Stats(); st.Batches > 0 {
					b.ReportMetric(float64(st.Records)/float64(st.Batches), "records/batch")
				}
			})
		}
	}
}

// appendAtRate appends b.N records at rate per second from workers
// goroutines and returns the latency of each.
func appendAtRate(b *testing.B, tr *Trail, rate, workers int) []time.Duration {
	b.Helper()
	rec := sample(3, time.Now())
	lat := make([]time.Duration, b.N)
	due := make(chan int)
	interval := time.Second / time.Duration(rate)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range due {
				r := rec
				if i%3 != 0 {
					r.Input = Decision{}
				}
				began := time.Now()
				if err := tr.Append(context.Background(), r); err != nil {
					b.Error(err)
				}
				lat[i] = time.Since(began)
			}
		})
	}
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		due <- i
	}
	close(due)
	wg.Wait()
	b.StopTimer()
	return lat
}
