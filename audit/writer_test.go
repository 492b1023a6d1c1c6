package audit

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

// TestWriteBatchSizes writes batches of sizes that need one INSERT, a
// power-of-two split (SQLite) and several chunks, and checks that the
// chain holds every record in order.
func TestWriteBatchSizes(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		tr := newTrail(t, db, Options{})
		base := time.Now()
		total := 0
		for _, n := range []int{1, 3, 64, 65, 130} {
			t.Run(fmt.Sprintf("%d records", n), func(t *testing.T) {
				batch := make([]*pending, n)
				for i := range batch {
					p, err := tr.prepare(new(sample(total+i, base)))
					if err != nil {
						t.Fatal(err)
					}
					batch[i] = p
				}
				if err := tr.writeBatch(batch); err != nil {
					t.Fatal(err)
				}
				total += n
				rep := mustVerify(t, db)
				wantOK(t, rep)
				if rep.Records != int64(total) || rep.LastSeq != int64(total) || rep.Head != int64(total) {
					t.Fatalf("report %+v, want %d records", rep, total)
				}
				if got := batch[n-1].row.seq; got != int64(total) {
					t.Fatalf("last record of the batch has seq %d, want %d", got, total)
				}
			})
		}
	})
}

// TestWriterFollowsOtherWriters interleaves two trails on one database:
// each writer's remembered head goes stale whenever the other one writes,
// and it must then read the head and link after the other's records.
func TestWriterFollowsOtherWriters(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		a := newTrail(t, db, Options{})
		b := newTrail(t, db, Options{BatchWait: 5 * time.Millisecond})
		steps := []struct {
			tr *Trail
			n  int
		}{{a, 3}, {b, 2}, {a, 2}, {a, 1}, {b, 4}, {a, 1}}
		i := 0
		for _, s := range steps {
			for range s.n {
				mustAppend(t, s.tr, sample(i, time.Now()))
				i++
			}
		}
		rep := mustVerify(t, db)
		wantOK(t, rep)
		if rep.Records != int64(i) || rep.Head != int64(i) {
			t.Fatalf("report %+v, want %d records", rep, i)
		}
	})
}

// TestBatchWaitKeepsEveryRecord appends from many goroutines with the
// writer waiting for more appends before each batch; every append must
// commit into one verifiable chain.
func TestBatchWaitKeepsEveryRecord(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		tr := newTrail(t, db, Options{BatchWait: 2 * time.Millisecond, MaxBatch: 16})
		const workers, each = 24, 10
		appendFrom(t, tr, workers, each)
		rep := mustVerify(t, db)
		wantOK(t, rep)
		if rep.Records != workers*each {
			t.Fatalf("%d records, want %d", rep.Records, workers*each)
		}
		if st := tr.Stats(); st.Records != workers*each || st.Batches > st.Records {
			t.Fatalf("stats %+v", st)
		}
	})
}

// TestWALBoundedUnderAppends appends records as the gateway does, from
// many goroutines without pause, with the store's write-ahead log limited
// to 1 MiB, through many times that much log, while searches read beside
// the writer: the -wal file never passes its limit and the chain holds
// every record.
func TestWALBoundedUnderAppends(t *testing.T) {
	const limit = 1 << 20
	dir := t.TempDir()
	db := storetest.Open(t, store.Options{DataDir: dir, WALLimit: limit})
	tr := newTrail(t, db, Options{Keys: testKeyring(t, "a")})
	largest := storetest.WatchWAL(t, dir)
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			if _, err := tr.Search(context.Background(), Query{TenantID: "t1", EndUser: "u1", Limit: 5}); err != nil {
				t.Error(err)
				return
			}
		}
	})
	const workers, each = 32, 100
	appendFrom(t, tr, workers, each)
	close(stop)
	readers.Wait()
	size, st := largest(), db.WALStats()
	t.Logf("largest -wal file %d bytes; %d records in %d batches; keeper %+v", size, workers*each, tr.Stats().Batches, st)
	if size > limit {
		t.Errorf("the -wal file reached %d bytes, over its limit of %d", size, limit)
	}
	if st.Restarts == 0 {
		t.Error("the log was never truncated: the appends wrote less than the test means to")
	}
	rep := mustVerify(t, db)
	wantOK(t, rep)
	if rep.Records != workers*each {
		t.Fatalf("%d records, want %d", rep.Records, workers*each)
	}
}

// appendFrom appends workers*each sample records from workers goroutines
// at once and returns when all are written.
func appendFrom(t *testing.T, tr *Trail, workers, each int) {
	t.Helper()
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			for i := range each {
				if err := tr.Append(context.Background(), sample(g*each+i, time.Now())); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestAbandonedAppends appends from many goroutines whose contexts end at
// random moments, some before their batch commits and some while the lead
// is on its way to them: every Append returns, every one that returned
// nil is in the chain, and the chain verifies.
func TestAbandonedAppends(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		tr := newTrail(t, db, Options{MaxBatch: 4})
		const workers, each = 32, 20
		var mu sync.Mutex
		var acked []string
		var wg sync.WaitGroup
		for g := range workers {
			wg.Go(func() {
				for i := range each {
					r := sample(g*each+i, time.Now())
					r.ID = NewID(r.Time)
					wait := time.Duration((g*7+i*13)%40) * 50 * time.Microsecond
					if i%2 == 0 {
						wait = time.Minute
					}
					ctx, cancel := context.WithTimeout(context.Background(), wait)
					err := tr.Append(ctx, r)
					cancel()
					if err == nil {
						mu.Lock()
						acked = append(acked, r.ID)
						mu.Unlock()
					}
				}
			})
		}
		wg.Wait()
		mustAppend(t, tr, sample(0, time.Now())) // the lead is free again
		wantOK(t, mustVerify(t, db))
		for _, id := range acked {
			if _, err := Lookup(context.Background(), db, id, nil); err != nil {
				t.Fatalf("acknowledged record %s: %v", id, err)
			}
		}
		if len(acked) < workers*each/2 {
			t.Fatalf("%d of %d appends acknowledged; those with a minute to wait are half", len(acked), workers*each)
		}
	})
}
