package notify_test

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firebreak/firebreak/internal/testclock"
	"github.com/firebreak/firebreak/notify"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

// fast polls often so that, on SQLite, a second notifier on the same file
// (which hears no notices) keeps up.
var fast = notify.Options{PollInterval: 20 * time.Millisecond}

func TestReplicas(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		t.Run("other replica and self", func(t *testing.T) {
			a, b := open(t, db, fast), open(t, db, fast)
			self, other := record(t, a, "key.revoked"), record(t, b, "key.revoked")
			publish(t, a, "key.revoked", "k1")
			if got := other.wait(t, 1); !slices.Equal(got, []string{"k1"}) {
				t.Errorf("other replica got %q", got)
			}
			if got := self.wait(t, 1); !slices.Equal(got, []string{"k1"}) {
				t.Errorf("publishing replica got %q", got)
			}
		})
		t.Run("order per topic, exactly once", func(t *testing.T) {
			a, b := open(t, db, fast), open(t, db, fast)
			ra, rb := record(t, b, "a"), record(t, b, "b")
			want := seqPayloads(200)
			for _, p := range want {
				publish(t, a, "a", p)
				publish(t, a, "b", p)
			}
			for name, r := range map[string]*recorder{"a": ra, "b": rb} {
				got := r.wait(t, len(want))
				if !slices.Equal(got, want) {
					t.Errorf("topic %s: %d payloads, not the %d published in order", name, len(got), len(want))
				}
			}
		})
		t.Run("concurrent publishers", func(t *testing.T) {
			const publishers, each = 4, 25
			b := open(t, db, fast)
			r := record(t, b, "t")
			var wg sync.WaitGroup
			for w := range publishers {
				a := open(t, db, fast)
				wg.Go(func() {
					for i := range each {
						if err := a.Publish(context.Background(), "t", strconv.Itoa(w)+":"+strconv.Itoa(i)); err != nil {
							t.Errorf("publish: %v", err)
						}
					}
				})
			}
			wg.Wait()
			got := r.wait(t, publishers*each)
			checkPerPublisherOrder(t, got, publishers, each)
		})
		t.Run("PublishTx commit", func(t *testing.T) {
			a, b := open(t, db, fast), open(t, db, fast)
			r := record(t, b, "policy")
			err := db.Tx(context.Background(), func(tx *sql.Tx) error {
				return a.PublishTx(context.Background(), tx, "policy", "v7")
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := r.wait(t, 1); !slices.Equal(got, []string{"v7"}) {
				t.Errorf("got %q", got)
			}
		})
		t.Run("PublishTx rollback sends nothing", func(t *testing.T) {
			a, b := open(t, db, fast), open(t, db, fast)
			self, other := record(t, a, "policy"), record(t, b, "policy")
			errRollback := errors.New("rollback")
			err := db.Tx(context.Background(), func(tx *sql.Tx) error {
				if err := a.PublishTx(context.Background(), tx, "policy", "rolled-back"); err != nil {
					return err
				}
				return errRollback
			})
			if !errors.Is(err, errRollback) {
				t.Fatalf("Tx = %v", err)
			}
			// A later publication on the same topic arrives after anything
			// the rolled-back one could have sent.
			publish(t, a, "policy", "marker")
			for name, r := range map[string]*recorder{"self": self, "other": other} {
				if got := r.wait(t, 1); !slices.Equal(got, []string{"marker"}) {
					t.Errorf("%s got %q, want only the marker", name, got)
				}
			}
		})
		t.Run("unsubscribe", func(t *testing.T) {
			a, b := open(t, db, fast), open(t, db, fast)
			gone := &recorder{note: make(chan struct{}, 1)}
			cancel := b.Subscribe("t", gone.add)
			stays := record(t, b, "t")
			publish(t, a, "t", "before")
			gone.wait(t, 1)
			cancel()
			publish(t, a, "t", "after")
			stays.wait(t, 2)
			if got := gone.payloads(); !slices.Equal(got, []string{"before"}) {
				t.Errorf("cancelled subscriber got %q", got)
			}
		})
		t.Run("starts after existing rows", func(t *testing.T) {
			a := open(t, db, fast)
			publish(t, a, "old", "before-open")
			b := open(t, db, fast)
			r := record(t, b, "old")
			publish(t, a, "old", "after-open")
			if got := r.wait(t, 1); !slices.Equal(got, []string{"after-open"}) {
				t.Errorf("got %q, want only what was published after Open", got)
			}
		})
		t.Run("closed", func(t *testing.T) {
			a := open(t, db, fast)
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			if err := a.Publish(context.Background(), "t", "x"); !errors.Is(err, notify.ErrClosed) {
				t.Fatalf("Publish after Close = %v, want ErrClosed", err)
			}
		})
	})
}

// checkPerPublisherOrder asserts that got holds every "w:i" exactly once and
// each publisher's payloads in the order it published them.
func checkPerPublisherOrder(t *testing.T, got []string, publishers, each int) {
	t.Helper()
	if len(got) != publishers*each {
		t.Fatalf("got %d payloads, want %d", len(got), publishers*each)
	}
	next := make(map[string]int)
	for _, p := range got {
		w, seq, _ := strings.Cut(p, ":")
		if i, err := strconv.Atoi(seq); err != nil || i != next[w] {
			t.Fatalf("publisher %s: got %q, want %d", w, seq, next[w])
		}
		next[w]++
	}
}

func TestPrune(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		clk := testclock.New(time.Date(2025, 11, 1, 12, 0, 0, 0, time.UTC))
		a := open(t, db, notify.Options{PollInterval: 10 * time.Millisecond, Retention: time.Hour, Now: clk.Now})
		publish(t, a, "t", "old")
		clk.Add(2 * time.Hour)
		publish(t, a, "t", "new")
		deadline := time.Now().Add(patience)
		for countRows(t, db) != 1 {
			if time.Now().After(deadline) {
				t.Fatalf("change_log still holds %d rows after %s", countRows(t, db), patience)
			}
			time.Sleep(10 * time.Millisecond)
		}
		var payload string
		if err := db.QueryRowContext(context.Background(), `SELECT payload FROM change_log`).Scan(&payload); err != nil {
			t.Fatal(err)
		}
		if payload != "new" {
			t.Errorf("kept %q, want the row inside retention", payload)
		}
	})
}

func countRows(t *testing.T, db *store.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM change_log`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestOwnPublicationsWithoutPolling shows that a replica's own
// publications, plain or in a transaction, arrive by notice (PostgreSQL) or
// by the wake-up after the write (SQLite), not by the periodic read.
func TestOwnPublicationsWithoutPolling(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		n := open(t, db, notify.Options{PollInterval: time.Hour})
		r := record(t, n, "t")
		publish(t, n, "t", "plain")
		err := db.Tx(context.Background(), func(tx *sql.Tx) error {
			return n.PublishTx(context.Background(), tx, "t", "in-tx")
		})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := r.wait(t, 2), []string{"plain", "in-tx"}; !slices.Equal(got, want) {
			t.Errorf("got %q, want %q", got, want)
		}
	})
}
