package audit

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
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

// TestWALCheckpoints checks that on SQLite the trail takes over
// checkpointing from the commit path while it runs, copies the log into
// the database file in the background, and hands checkpointing back on
// Close.
func TestWALCheckpoints(t *testing.T) {
	cases := []struct {
		name      string
		every     time.Duration
		wantWhile int // wal_autocheckpoint while the trail runs
	}{
		{name: "background job", every: 5 * time.Millisecond, wantWhile: 0},
		{name: "left to sqlite", every: -1, wantWhile: sqliteAutoCheckpoint},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			db := storetest.Open(t, store.Options{DataDir: dir})
			tr, err := New(Options{DB: db, CheckpointEvery: -1, WALCheckpointEvery: tc.every})
			if err != nil {
				t.Fatal(err)
			}
			if got := autoCheckpoint(t, db); got != tc.wantWhile {
				t.Fatalf("wal_autocheckpoint %d while the trail runs, want %d", got, tc.wantWhile)
			}
			before := fileSize(t, filepath.Join(dir, "firebreak.db"))
			for i := range 300 {
				mustAppend(t, tr, sample(i, time.Now()))
			}
			if tc.every > 0 {
				// Bounded: the job runs every 5 ms; give it up to 10 s.
				grown := false
				for range 1000 {
					if fileSize(t, filepath.Join(dir, "firebreak.db")) > before {
						grown = true
						break
					}
					time.Sleep(10 * time.Millisecond)
				}
				if !grown {
					t.Fatal("database file never grew: the log was not checkpointed")
				}
			}
			if err := tr.Close(); err != nil {
				t.Fatal(err)
			}
			if got := autoCheckpoint(t, db); got != sqliteAutoCheckpoint {
				t.Fatalf("wal_autocheckpoint %d after Close, want %d", got, sqliteAutoCheckpoint)
			}
			wantOK(t, mustVerify(t, db))
		})
	}
}

func autoCheckpoint(t *testing.T, db *store.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), `PRAGMA wal_autocheckpoint`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
