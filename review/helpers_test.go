package review_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/internal/testclock"
	"github.com/firebreak/firebreak/review"
	"github.com/firebreak/firebreak/safety"
	"github.com/firebreak/firebreak/sanction"
	"github.com/firebreak/firebreak/store"
)

// desk is a queue with the real parts it acts through, on one database.
type desk struct {
	db        *store.DB
	clock     *testclock.Clock
	keys      *audit.Keyring
	trail     *audit.Trail
	sanctions *sanction.Service
	queue     *review.Queue
}

var (
	alice  = review.Reviewer{ID: "st_alice", Name: "alice"}
	bob    = review.Reviewer{ID: "st_bob", Name: "bob"}
	senior = review.Reviewer{ID: "st_carol", Name: "carol", Senior: true}
)

func testKeys(t testing.TB) *audit.Keyring {
	t.Helper()
	k, err := audit.ParseKeyring(strings.NewReader("k1:" + base64.StdEncoding.EncodeToString([]byte("thirty-two bytes of test key!!!!"))))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newDesk builds the desk; opts' DB, Trail, Sanctions, Keys and Now are
// filled in.
func newDesk(t testing.TB, db *store.DB, opts review.Options) *desk {
	t.Helper()
	d := &desk{db: db, clock: testclock.New(time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)), keys: testKeys(t)}
	trail, err := audit.New(audit.Options{DB: db, Keys: d.keys, CheckpointEvery: -1, Now: d.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { trail.Close() })
	d.trail = trail
	// Every strike of A1 suspends for a day: a confirmed violation shows
	// in the standing at once.
	ladder := sanction.Ladder{Steps: []sanction.Step{{Trigger: sanction.Trigger{Total: 1}, Action: sanction.Suspend, Duration: 24 * time.Hour}}}
	s, err := sanction.New(context.Background(), sanction.Options{DB: db, Secret: []byte("0123456789abcdef0123456789abcdef"),
		Ladder: ladder, StrikeCodes: []string{"A1"}, Now: d.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	d.sanctions = s
	opts.DB, opts.Trail, opts.Sanctions, opts.Keys, opts.Now = db, trail, s, d.keys, d.clock.Now
	if d.queue, err = review.New(opts); err != nil {
		t.Fatal(err)
	}
	return d
}

// exchange appends a recorded exchange through the desk's recorder and
// returns its record.
func (d *desk) exchange(t testing.TB, r *review.Recorder, tenant, user string, action safety.Action, code, prompt string) audit.Record {
	t.Helper()
	rec := audit.Record{Time: d.clock.Now(), RequestID: "req-" + prompt, TenantID: tenant, EndUser: user, KeyID: "k",
		Model: "chat", Route: "direct", Status: 200, Outcome: audit.OutcomeOK, PolicyVersion: "v1",
		Input:   audit.Decision{Action: safety.Allow},
		Output:  audit.Decision{Action: action, Code: code},
		Content: audit.Content{Prompt: prompt, Answer: "answer to " + prompt}}
	if action != safety.Allow {
		rec.Output.Hits = []audit.Hit{{Detector: "lexicon", Rule: "r1", Code: code, Action: action}}
	}
	rec.ID = audit.NewID(rec.Time)
	if err := r.Append(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	return rec
}

func (d *desk) recorder(t testing.TB, s review.Sampling) *review.Recorder {
	t.Helper()
	r, err := d.queue.Recorder(d.trail, s, true)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// only returns the one open item, failing otherwise.
func (d *desk) only(t testing.TB, f review.Filter) review.Item {
	t.Helper()
	items, err := d.queue.List(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 {
		t.Fatalf("%d items, want 1: %+v", len(items), items)
	}
	return items[0]
}
