package notify_test

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/notify"
)

func TestPublishValidates(t *testing.T) {
	n := notify.NewLocal()
	t.Cleanup(func() { _ = n.Close() })
	tests := []struct {
		name, topic, payload string
		ok                   bool
	}{
		{name: "plain", topic: "account.key", payload: "k_123", ok: true},
		{name: "empty payload", topic: "policy/version", payload: "", ok: true},
		{name: "payload with spaces", topic: "a:b-c_d", payload: "x y z", ok: true},
		{name: "longest topic", topic: strings.Repeat("t", notify.MaxTopic), ok: true},
		{name: "largest payload", topic: "t", payload: strings.Repeat("p", notify.MaxPayload), ok: true},
		{name: "empty topic", topic: ""},
		{name: "topic too long", topic: strings.Repeat("t", notify.MaxTopic+1)},
		{name: "space in topic", topic: "a b"},
		{name: "non-ASCII topic", topic: "策略"},
		{name: "payload too large", topic: "t", payload: strings.Repeat("p", notify.MaxPayload+1)},
		{name: "invalid UTF-8", topic: "t", payload: "\xff"},
		{name: "NUL in payload", topic: "t", payload: "a\x00b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := n.Publish(context.Background(), tt.topic, tt.payload)
			if (err == nil) != tt.ok {
				t.Fatalf("Publish(%q, %d bytes) = %v, want ok=%v", tt.topic, len(tt.payload), err, tt.ok)
			}
		})
	}
}

func TestLocal(t *testing.T) {
	t.Run("order per topic", func(t *testing.T) {
		n := notify.NewLocal()
		t.Cleanup(func() { _ = n.Close() })
		a, b := record(t, n, "a"), record(t, n, "b")
		want := seqPayloads(1000)
		for _, p := range want {
			publish(t, n, "a", p)
			publish(t, n, "b", p)
		}
		for name, r := range map[string]*recorder{"a": a, "b": b} {
			if got := r.wait(t, len(want)); !slices.Equal(got, want) {
				t.Errorf("topic %s: got %d payloads out of order or duplicated", name, len(got))
			}
		}
	})
	t.Run("topics are separate", func(t *testing.T) {
		n := notify.NewLocal()
		t.Cleanup(func() { _ = n.Close() })
		a, b := record(t, n, "a"), record(t, n, "b")
		publish(t, n, "a", "only-a")
		publish(t, n, "b", "only-b")
		if got := a.wait(t, 1); !slices.Equal(got, []string{"only-a"}) {
			t.Errorf("topic a got %q", got)
		}
		if got := b.wait(t, 1); !slices.Equal(got, []string{"only-b"}) {
			t.Errorf("topic b got %q", got)
		}
	})
	t.Run("unsubscribe", func(t *testing.T) {
		n := notify.NewLocal()
		t.Cleanup(func() { _ = n.Close() })
		gone := &recorder{note: make(chan struct{}, 1)}
		cancel := n.Subscribe("t", gone.add)
		stays := record(t, n, "t")
		publish(t, n, "t", "before")
		gone.wait(t, 1)
		cancel()
		cancel() // a second cancel is harmless
		publish(t, n, "t", "after")
		if got := stays.wait(t, 2); !slices.Equal(got, []string{"before", "after"}) {
			t.Errorf("remaining subscriber got %q", got)
		}
		if got := gone.payloads(); !slices.Equal(got, []string{"before"}) {
			t.Errorf("cancelled subscriber got %q, want only \"before\"", got)
		}
	})
	t.Run("slow subscriber blocks only itself", func(t *testing.T) {
		n := notify.NewLocal()
		t.Cleanup(func() { _ = n.Close() })
		release := make(chan struct{})
		slow := &recorder{note: make(chan struct{}, 1)}
		t.Cleanup(n.Subscribe("t", func(p string) { <-release; slow.add(p) }))
		fast := record(t, n, "t")
		want := []string{"1", "2", "3"}
		for _, p := range want {
			publish(t, n, "t", p)
		}
		if got := fast.wait(t, 3); !slices.Equal(got, want) {
			t.Errorf("fast subscriber got %q", got)
		}
		close(release)
		if got := slow.wait(t, 3); !slices.Equal(got, want) {
			t.Errorf("slow subscriber got %q", got)
		}
	})
	t.Run("PublishTx needs a store", func(t *testing.T) {
		n := notify.NewLocal()
		t.Cleanup(func() { _ = n.Close() })
		if err := n.PublishTx(context.Background(), (*sql.Tx)(nil), "t", "x"); err == nil {
			t.Fatal("PublishTx on a local notifier succeeded")
		}
	})
	t.Run("closed", func(t *testing.T) {
		n := notify.NewLocal()
		if err := n.Close(); err != nil {
			t.Fatal(err)
		}
		if err := n.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if err := n.Publish(context.Background(), "t", "x"); !errors.Is(err, notify.ErrClosed) {
			t.Fatalf("Publish after Close = %v, want ErrClosed", err)
		}
	})
}
