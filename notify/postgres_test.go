package notify_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firebreak/firebreak/notify"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

// openPostgres returns a fresh PostgreSQL store and its DSN.
func openPostgres(t testing.TB) (*store.DB, string) {
	t.Helper()
	dsn := storetest.PostgresDSN(t)
	return storetest.Open(t, store.Options{DSN: dsn}), dsn
}

// waitListener waits until n's listener pid satisfies ok and returns it.
func waitListener(t *testing.T, n *notify.Notifier, what string, ok func(uint32) bool) uint32 {
	t.Helper()
	deadline := time.Now().Add(patience)
	for {
		if pid := n.ListenerPID(); ok(pid) {
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("listener not %s after %s", what, patience)
		}
		time.Sleep(time.Millisecond)
	}
}

func listening(pid uint32) bool { return pid != 0 }
func down(pid uint32) bool      { return pid == 0 }

// terminate kills the backend with pid, as a failover or an operator would.
func terminate(t *testing.T, db *store.DB, pid uint32) {
	t.Helper()
	var ok bool
	if err := db.QueryRowContext(context.Background(), `SELECT pg_terminate_backend($1)`, int64(pid)).Scan(&ok); err != nil || !ok {
		t.Fatalf("pg_terminate_backend(%d) = %v, %v", pid, ok, err)
	}
}

func TestLatencyPostgres(t *testing.T) {
	const publishes = 50
	db, _ := openPostgres(t)
	a, b := open(t, db, notify.Options{}), open(t, db, notify.Options{})
	r := record(t, b, "t")
	waitListener(t, b, "listening", listening)
	lat := make([]time.Duration, 0, publishes)
	for i, p := range seqPayloads(publishes) {
		start := time.Now()
		publish(t, a, "t", p)
		r.wait(t, i+1)
		lat = append(lat, r.arrivedAt(i).Sub(start))
	}
	if got, want := r.payloads(), seqPayloads(publishes); !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	t.Logf("publish-to-receive on another replica over %d publishes: p50 %s, p99 %s, max %s",
		publishes, percentile(lat, 50), percentile(lat, 99), percentile(lat, 100))
}

func TestPollingFallback(t *testing.T) {
	db, dsn := openPostgres(t)
	a := open(t, db, notify.Options{})
	// The listener never comes back once killed: whatever arrives after
	// that came through polling.
	b := open(t, db, notify.Options{DSN: dsn, PollInterval: 20 * time.Millisecond, ReconnectDelay: time.Hour})
	r := record(t, b, "sanction")
	pid := waitListener(t, b, "listening", listening)
	publish(t, a, "sanction", "while-up")
	r.wait(t, 1)

	terminate(t, db, pid)
	waitListener(t, b, "down", down)
	publish(t, a, "sanction", "while-down-1")
	publish(t, a, "sanction", "while-down-2")
	got := r.wait(t, 3)
	if want := []string{"while-up", "while-down-1", "while-down-2"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if pid := b.ListenerPID(); pid != 0 {
		t.Fatalf("listener came back (pid %d): delivery did not depend on polling", pid)
	}
}

func TestListenerReconnects(t *testing.T) {
	db, _ := openPostgres(t)
	a := open(t, db, notify.Options{})
	// No polling to speak of: what arrives came by notice or by the read
	// of the log that follows every reconnect.
	b := open(t, db, notify.Options{PollInterval: time.Hour, ReconnectDelay: 500 * time.Millisecond})
	r := record(t, b, "blacklist")
	pid := waitListener(t, b, "listening", listening)
	publish(t, a, "blacklist", "up")
	r.wait(t, 1)

	terminate(t, db, pid)
	waitListener(t, b, "down", down)
	publish(t, a, "blacklist", "down")
	if b.ListenerPID() != 0 {
		t.Log("listener reconnected before the publication; it may have come by notice")
	}
	r.wait(t, 2)
	again := waitListener(t, b, "back", listening)
	if again == pid {
		t.Fatalf("listener pid %d unchanged after terminate", pid)
	}
	publish(t, a, "blacklist", "again")
	if got, want := r.wait(t, 3), []string{"up", "down", "again"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestListenerTakesNoPooledConnection: the listener has a connection of
// its own, so a store with a single pooled connection still serves
// queries, and closing a prepared statement never waits for the listener
// (a pooled connection lent to it would hold both).
func TestListenerTakesNoPooledConnection(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	db := storetest.Open(t, store.Options{DSN: dsn, MaxOpenConns: 1})
	b := open(t, db, notify.Options{})
	pid := waitListener(t, b, "listening", listening)
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	stmt, err := db.PrepareContext(ctx, `SELECT pg_backend_pid()`)
	if err != nil {
		t.Fatalf("prepare beside the listener: %v", err)
	}
	var pooled uint32
	if err := stmt.QueryRowContext(ctx).Scan(&pooled); err != nil {
		t.Fatalf("query beside the listener: %v", err)
	}
	if pooled == pid {
		t.Fatalf("the pool's only connection (pid %d) is the listener's", pooled)
	}
	closed := make(chan error, 1)
	go func() { closed <- stmt.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatal("closing a prepared statement waited on the listener")
	}
	got := record(t, b, "t")
	publish(t, b, "t", "after")
	if p := got.wait(t, 1); p[0] != "after" {
		t.Fatalf("received %q", p)
	}
}

func TestListenerUnreachable(t *testing.T) {
	db, _ := openPostgres(t)
	logs := &capture{}
	a := open(t, db, notify.Options{})
	// Nothing listens on port 1: every connect fails at once.
	b := open(t, db, notify.Options{
		DSN:               "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=1",
		PollInterval:      20 * time.Millisecond,
		ReconnectDelay:    time.Millisecond,
		MaxReconnectDelay: time.Millisecond,
		Logger:            slog.New(logs),
	})
	r := record(t, b, "t")
	const payload = "payload-that-must-not-be-logged"
	publish(t, a, "t", payload)
	if got := r.wait(t, 1); !slices.Equal(got, []string{payload}) {
		t.Errorf("got %q", got)
	}
	deadline := time.Now().Add(patience)
	for logs.count(slog.LevelDebug, "notify: listener down") < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("fewer than 4 reconnect attempts after %s", patience)
		}
		time.Sleep(time.Millisecond)
	}
	if n := logs.count(slog.LevelWarn, "notify: listener down"); n != 1 {
		t.Errorf("outage logged %d times at warn, want once", n)
	}
	if logs.contains(payload) {
		t.Error("a payload reached the log")
	}
}

// capture is a slog.Handler that keeps every record as text.
type capture struct {
	mu    sync.Mutex
	lines []captured
}

type captured struct {
	level slog.Level
	msg   string
	text  string
}

func (c *capture) Enabled(context.Context, slog.Level) bool { return true }
func (c *capture) WithAttrs([]slog.Attr) slog.Handler       { return c }
func (c *capture) WithGroup(string) slog.Handler            { return c }

func (c *capture) Handle(_ context.Context, r slog.Record) error {
	text := r.Message
	r.Attrs(func(a slog.Attr) bool {
		text += " " + a.String()
		return true
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines = append(c.lines, captured{level: r.Level, msg: r.Message, text: text})
	return nil
}

func (c *capture) count(level slog.Level, msg string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, l := range c.lines {
		if l.level == level && l.msg == msg {
			n++
		}
	}
	return n
}

func (c *capture) contains(s string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, l := range c.lines {
		if strings.Contains(l.text, s) {
			return true
		}
	}
	return false
}
