package upstream_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/firebreak/firebreak/internal/fakeupstream"
	"github.com/firebreak/firebreak/upstream"
)

// TestFrozenReplicaIsHedgedAndEjected: of two replicas, one accepts
// connections and never answers. With HedgeAfter every request sent to it
// also goes to the other, whose answer wins; the frozen attempts count as
// slow, so after EjectAfter of them the frozen replica gets no more
// requests, and no client waited for its first-byte timeout.
func TestFrozenReplicaIsHedgedAndEjected(t *testing.T) {
	fs := fakes(t,
		fakeupstream.Options{Default: fakeupstream.Reply{Text: "frozen", HeaderDelay: time.Minute}},
		fakeupstream.Options{Default: fakeupstream.Reply{Text: "healthy"}})
	rec := &recorder{}
	r := chatRouter(t, fs, rec, func(_ int, c *upstream.Config) {
		c.HedgeAfter, c.SlowFirstByte, c.FirstByteTimeout = 50*time.Millisecond, 50*time.Millisecond, time.Minute
	}, func(o *upstream.Options) { o.EjectAfter, o.EjectFor = 3, time.Hour })
	for i := range 12 {
		for _, stream := range []bool{false, true} {
			resp, err := do(t, r, context.Background(), chatRequest(stream))
			if err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
			if resp.Upstream != "u1" {
				t.Fatalf("request %d answered by %s", i, resp.Upstream)
			}
			readAll(t, resp)
			// A cancelled attempt reports after Do returned: let it count
			// before the next request, or the replica may be picked once more.
			waitFor(t, func() bool { return count(rec.outcomes(), "u0:hedged") >= len(fs[0].Requests()) })
		}
	}
	if n := len(fs[0].Requests()); n != 3 {
		t.Errorf("the frozen replica received %d requests, want 3 (EjectAfter) before it was ejected", n)
	}
	if h := r.Health()[0]; h.Healthy {
		t.Errorf("frozen replica still in rotation: %+v", h)
	}
	if !slices.Contains(rec.ejections, "u0/m0=true") {
		t.Errorf("ejections %v", rec.ejections)
	}
	waitFor(t, func() bool { return count(rec.outcomes(), "u0:hedged") == 3 })
}

// TestSlowReplicaIsEjected: without hedging, a replica that answers but
// later than SlowFirstByte still serves those requests, and is ejected
// after EjectAfter of them in a row.
func TestSlowReplicaIsEjected(t *testing.T) {
	fs := fakes(t,
		fakeupstream.Options{Default: fakeupstream.Reply{Text: "slow", HeaderDelay: 80 * time.Millisecond}},
		fakeupstream.Options{Default: fakeupstream.Reply{Text: "fast"}})
	rec := &recorder{}
	r := chatRouter(t, fs, rec, func(_ int, c *upstream.Config) { c.SlowFirstByte = 20 * time.Millisecond },
		func(o *upstream.Options) { o.EjectAfter, o.EjectFor = 2, time.Hour })
	by := map[string]int{}
	for range 10 {
		resp, err := do(t, r, context.Background(), chatRequest(false))
		if err != nil {
			t.Fatal(err)
		}
		by[resp.Upstream]++
		readAll(t, resp)
	}
	if by["u0"] != 2 || by["u1"] != 8 {
		t.Errorf("answers by upstream %v: want the slow one to answer twice, then be ejected", by)
	}
	if got := count(rec.outcomes(), "u0:slow"); got != 2 {
		t.Errorf("slow outcomes %d, want 2: %v", got, rec.outcomes())
	}
}

func count(list []string, s string) int {
	n := 0
	for _, v := range list {
		if v == s {
			n++
		}
	}
	return n
}

// waitFor polls cond for up to ten seconds: a bound on background work
// (cancelled attempts report after Do returned), not a measurement.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Error("condition not met within 10 s")
}
