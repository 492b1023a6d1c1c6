package audit

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/firebreak/firebreak/internal/testclock"
	"github.com/firebreak/firebreak/safety"
	"github.com/firebreak/firebreak/store"
)

// clock is a settable time source.
type clock = testclock.Clock

func newClock() *clock { return testclock.New(time.Date(2025, 11, 1, 12, 0, 0, 0, time.UTC)) }

// newTrail returns a Trail on db that is closed when the test ends. The
// background checkpoint job is off unless opts asks for it.
func newTrail(t testing.TB, db *store.DB, opts Options) *Trail {
	t.Helper()
	opts.DB = db
	if opts.CheckpointEvery == 0 {
		opts.CheckpointEvery = -1
	}
	tr, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := tr.Close(); err != nil {
			t.Errorf("close trail: %v", err)
		}
	})
	return tr
}

// testKeyring returns a keyring with the given key ids, each key derived
// from its id so two keyrings with the same id agree.
func testKeyring(t testing.TB, ids ...string) *Keyring {
	t.Helper()
	var b strings.Builder
	for _, id := range ids {
		key := fmt.Sprintf("%-32s", id)[:32]
		fmt.Fprintf(&b, "%s:%s\n", id, b64([]byte(key)))
	}
	k, err := ParseKeyring(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func testSigner(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

// sample returns a varied record: every third is flagged on input, every
// fifth on output.
func sample(i int, at time.Time) Record {
	r := Record{
		RequestID: fmt.Sprintf("req-%04d", i), Time: at,
		TenantID: "t1", KeyID: "k1", EndUser: fmt.Sprintf("u%d", i%4),
		Model: "general", Route: "direct", Upstream: "vllm-a", Stream: i%2 == 0,
		PolicyVersion: "v7", Status: 200, Outcome: OutcomeOK,
		Timings: Timings{TotalMs: int64(100 + i), UpstreamFirstByteMs: int64(20 + i)},
		Usage:   Usage{Prompt: 10, Completion: int64(i), Total: int64(10 + i)},
		Content: Content{Prompt: fmt.Sprintf("prompt secret %d", i), Answer: fmt.Sprintf("answer secret %d", i)},
	}
	if i%3 == 0 {
		r.Input = Decision{Action: safety.Refuse, Code: "A1a", Hits: []Hit{{Detector: "lexicon", Rule: "r1", Code: "A1a", Action: safety.Refuse}}}
		r.Outcome, r.Status = OutcomeRefused, 200
		r.Sanctions = []string{"warn"}
	}
	if i%4 == 1 {
		r.Label = json.RawMessage(fmt.Sprintf(`{"aigc":{"Label":"1","ProduceID":"rec-%d"},"text_sha256":"00","explicit":"end"}`, i))
	}
	if i%5 == 0 {
		r.Output = Decision{Action: safety.Mask, Code: "A4f", Hits: []Hit{{Detector: "pii", Rule: "phone", Code: "A4f", Action: safety.Mask}}}
	}
	return r
}

func mustAppend(t testing.TB, tr *Trail, recs ...Record) {
	t.Helper()
	for _, r := range recs {
		if err := tr.Append(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
}

func mustVerify(t testing.TB, db *store.DB, pubs ...ed25519.PublicKey) Report {
	t.Helper()
	rep, err := Verify(context.Background(), db, pubs...)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func wantOK(t testing.TB, rep Report) {
	t.Helper()
	if !rep.OK {
		t.Fatalf("verify: %+v", rep.Problems)
	}
}

func mustExec(t testing.TB, db *store.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.ExecContext(context.Background(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}
