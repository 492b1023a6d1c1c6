package audit

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

// envCrashDir makes TestCrashChild run: it names the data folder.
const envCrashDir = "FIREBREAK_AUDIT_CRASH_DIR"

// TestCrashChild is the process TestCrashLosesNoAcknowledgedRecord kills.
// It appends from many goroutines and prints each id once Append returned.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(envCrashDir)
	if dir == "" {
		t.Skip("runs only as the child of TestCrashLosesNoAcknowledgedRecord")
	}
	db, err := store.Open(context.Background(), store.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := New(Options{DB: db, Keys: testKeyring(t, "a"), CheckpointEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for i := range 100_000 { // bounded; the parent kills us long before
				r := sample(i, time.Now())
				r.ID = NewID(r.Time)
				if err := tr.Append(context.Background(), r); err != nil {
					fmt.Fprintf(os.Stderr, "append: %v\n", err)
					os.Exit(3)
				}
				mu.Lock()
				_, _ = os.Stdout.WriteString("id " + r.ID + "\n") // unbuffered: a write is a syscall
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

func TestCrashLosesNoAcknowledgedRecord(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), envCrashDir+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	const killAfter = 5000
	acked := map[string]bool{}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if id, ok := strings.CutPrefix(sc.Text(), "id "); ok {
			acked[id] = true
		}
		if len(acked) == killAfter {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		}
	}
	werr := cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die of SIGKILL: %v (acknowledged %d)", werr, len(acked))
	}

	db := storetest.Open(t, store.Options{DataDir: dir})
	present := map[string]bool{}
	rows, err := db.QueryContext(context.Background(), `SELECT id FROM audit_records`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		present[id] = true
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	lost := 0
	for id := range acked {
		if !present[id] {
			lost++
		}
	}
	rep := mustVerify(t, db)
	t.Logf("acknowledged before and around SIGKILL: %d; records in the database: %d; lost: %d; chain verifies: %v (seq 1..%d)",
		len(acked), len(present), lost, rep.OK, rep.LastSeq)
	if lost > 0 {
		t.Fatalf("%d acknowledged records lost", lost)
	}
	wantOK(t, rep)
	if rep.Records != int64(len(present)) || len(present) < len(acked) {
		t.Fatalf("verify walked %d records, database holds %d, acknowledged %d", rep.Records, len(present), len(acked))
	}
}
