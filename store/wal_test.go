package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

// TestWALStaysBounded drives sustained writes (small transactions, as the
// audit writer commits them, with readers beside them) through about 40
// times the log limit and samples the size of the -wal file all along: it
// must never pass the limit, and the keeper, not only the transactions'
// backstop, must have truncated the log. With only PASSIVE checkpoints
// (the store before the keeper) the same writes grew the file to 40 MiB.
func TestWALStaysBounded(t *testing.T) {
	const limit = 1 << 20
	cases := []struct {
		name  string
		every time.Duration
		pace  time.Duration // between transactions of one writer; 0: as fast as it goes
	}{
		{name: "flat out", every: 100 * time.Millisecond},
		{name: "paced", every: 20 * time.Millisecond, pace: 200 * time.Microsecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			db, err := store.Open(context.Background(), store.Options{DataDir: dir, WALLimit: limit, WALCheckpointEvery: tc.every})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			mustExec(t, db.DB, `CREATE TABLE w (id INTEGER PRIMARY KEY, k TEXT NOT NULL, v TEXT NOT NULL)`)
			mustExec(t, db.DB, `CREATE INDEX w_k ON w (k)`)

			largest := storetest.WatchWAL(t, dir)
			stop := make(chan struct{})
			var bg sync.WaitGroup
			bg.Go(func() { readLoop(db, stop) })

			// 4 writers, 2 KiB rows: about 40 MiB of log in all.
			row := strings.Repeat("x", 2048)
			var wg sync.WaitGroup
			for w := range 4 {
				wg.Go(func() {
					for i := range 600 {
						err := db.Tx(context.Background(), func(tx *sql.Tx) error {
							_, err := tx.Exec(`INSERT INTO w (k, v) VALUES ($1, $2)`, fmt.Sprintf("%d-%04d", w, i), row)
							return err
						})
						if err != nil {
							t.Error(err)
							return
						}
						if tc.pace > 0 {
							time.Sleep(tc.pace)
						}
					}
				})
			}
			wg.Wait()
			close(stop)
			bg.Wait()

			st, size := db.WALStats(), largest()
			t.Logf("largest -wal file %d bytes (limit %d); keeper %+v", size, limit, st)
			if size == 0 {
				t.Fatal("never saw the -wal file")
			}
			if size > limit {
				t.Errorf("the -wal file reached %d bytes, over its limit of %d", size, limit)
			}
			// The keeper and the test's watcher each sample the file, so
			// either may see a peak the other missed; both stay under the limit.
			if st.Limit != limit || st.MaxFileBytes <= 0 || st.MaxFileBytes > limit {
				t.Errorf("keeper saw the file at most %d bytes under limit %d; the test saw %d", st.MaxFileBytes, st.Limit, size)
			}
			if st.Restarts <= st.Backstops {
				t.Errorf("the keeper truncated the log %d times and transactions %d times: it never did its part",
					st.Restarts-st.Backstops, st.Backstops)
			}
			var n int
			if err := db.QueryRow(`SELECT COUNT(*) FROM w`).Scan(&n); err != nil || n != 2400 {
				t.Fatalf("%d rows, %v; want 2400", n, err)
			}
		})
	}
}

// TestWALKeeperOff checks that a negative WALCheckpointEvery leaves
// checkpoints to SQLite (its default of 1,000 pages) and starts no keeper.
func TestWALKeeperOff(t *testing.T) {
	db, err := store.Open(context.Background(), store.Options{DataDir: t.TempDir(), WALCheckpointEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	var pages int
	if err := db.QueryRow(`PRAGMA wal_autocheckpoint`).Scan(&pages); err != nil || pages != 1000 {
		t.Fatalf("wal_autocheckpoint %d, %v; want 1000", pages, err)
	}
	time.Sleep(250 * time.Millisecond) // the keeper's default interval is 100 ms
	if st := db.WALStats(); st != (store.WALStats{}) {
		t.Fatalf("keeper ran: %+v", st)
	}
}

func TestWALLimitValidated(t *testing.T) {
	for _, limit := range []int64{-1, 1000} {
		if db, err := store.Open(context.Background(), store.Options{DataDir: t.TempDir(), WALLimit: limit}); err == nil {
			_ = db.Close()
			t.Errorf("WALLimit %d accepted", limit)
		}
	}
}

// readLoop keeps short read transactions going, as searches and cache
// misses do beside the writer.
func readLoop(db *store.DB, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		var n int
		_ = db.Read().QueryRow(`SELECT COUNT(*) FROM w WHERE k > 'b'`).Scan(&n)
		time.Sleep(time.Millisecond)
	}
}

func mustExec(t *testing.T, db *sql.DB, q string) {
	t.Helper()
	if _, err := db.Exec(q); err != nil {
		t.Fatal(err)
	}
}
