package storetest

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// WatchWAL samples the size of the SQLite write-ahead log file in dataDir
// every 100 µs until the returned function is called; that function
// returns the largest size seen. Tests use it to show the log stays
// under Options.WALLimit while they write.
func WatchWAL(t testing.TB, dataDir string) (stop func() int64) {
	t.Helper()
	path := filepath.Join(dataDir, "firebreak.db-wal")
	done := make(chan struct{})
	var largest int64
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			if fi, err := os.Stat(path); err == nil {
				largest = max(largest, fi.Size())
			}
			select {
			case <-done:
				return
			case <-time.After(100 * time.Microsecond):
			}
		}
	})
	var once sync.Once
	stop = func() int64 {
		once.Do(func() { close(done); wg.Wait() })
		return largest
	}
	t.Cleanup(func() { stop() })
	return stop
}
