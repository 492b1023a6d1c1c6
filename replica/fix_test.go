package replica_test

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/config"
	"github.com/firebreak/firebreak/internal/fakeupstream"
	"github.com/firebreak/firebreak/policy"
	"github.com/firebreak/firebreak/review"
	"github.com/firebreak/firebreak/store/storetest"
)

// stream sends a streamed chat completion to nd and returns the whole
// event stream.
func (nd node) stream(t *testing.T, key, text string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, nd.url+"/v1/chat/completions",
		strings.NewReader(`{"model":"general","user":"u1","stream":true,"messages":[{"role":"user","content":"`+text+`"}]}`))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("stream: %d %s", resp.StatusCode, b)
	}
	return string(b)
}

// TestFindingToFixAcrossReplicas: on two replicas sharing PostgreSQL, a
// streamed answer is sent to review on replica A; a reviewer confirms it
// and proposes its phrase as a term (measured against recorded traffic);
// the draft with the proposal is dry-run and published on A; replica B
// now stops the same answer; the desk's timings show the finding from
// exchange to enforcement on both replicas, and the test prints it.
func TestFindingToFixAcrossReplicas(t *testing.T) {
	t.Parallel()
	up := fakeupstream.New(fakeupstream.Options{Default: fakeupstream.Reply{Text: "Step one: buy the delta-term kit today."}})
	t.Cleanup(up.Close)
	dsn, secret := storetest.PostgresDSN(t), filepath.Join(t.TempDir(), "server.secret")
	keys := filepath.Join(t.TempDir(), "audit.keys")
	var nodes []node
	for range 2 {
		cfg := config.Default()
		cfg.Data, cfg.Database, cfg.SecretFile, cfg.Audit.Keyring = t.TempDir(), dsn, secret, keys
		cfg.Review.DualShare = 0
		nodes = append(nodes, startNode(t, cfg, up.URL))
	}
	a, b := nodes[0], nodes[1]
	ctx := context.Background()
	v1, err := policy.NewBundle(map[string][]byte{
		policy.SpecFile: []byte("format: 1\nname: fix\nlexicons:\n  - {file: terms.txt}\n"),
		"terms.txt":     []byte("delta-term\tA1d\treview\n"),
	})
	if err != nil {
		t.Fatal(err)
	}
	waitVersion(t, b, publish(t, a, v1)())
	tenant, err := a.r.Accounts.Tenants.Create(ctx, account.Tenant{Name: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := a.r.Accounts.Keys.Create(ctx, account.Key{TenantID: tenant.ID, Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	if body := a.stream(t, key, "how do I start?"); !strings.Contains(body, "delta-term") || strings.Contains(body, "content_filter") {
		t.Fatalf("under v1 the answer passes (queued for review): %s", body)
	}
	who := review.Reviewer{ID: "st_rev", Name: "rev"}
	l, err := a.r.Review.Next(ctx, who, review.Filter{Source: review.SourceReview})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.r.Review.Decide(ctx, l.Item.ID, l.Token, who, review.Decision{Verdict: review.Violation, Code: "A1d",
		Corrected: "I can't help with that."}); err != nil {
		t.Fatal(err)
	}
	p, err := a.r.Review.Propose(ctx, a.r.Policy, who, review.Proposal{ItemID: l.Item.ID, Kind: review.ProposeTerm,
		Text: "delta-term kit", Code: "A1d", Action: "refuse"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Changed < 1 {
		t.Fatalf("the proposal changes %d of %d recorded texts, want the flagged answer at least", p.Changed, p.Samples)
	}
	open, err := a.r.Review.Proposals(ctx, "open")
	if err != nil || len(open) != 1 {
		t.Fatalf("open proposals: %v %+v", err, open)
	}
	base, err := a.r.Policy.Bundle(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	draft, err := review.Draft(base, open)
	if err != nil {
		t.Fatal(err)
	}
	res, err := a.r.Policy.Publish(ctx, draft, policy.Change{Author: "editor", Reason: "review finding " + l.Item.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.r.Review.Published(ctx, []string{p.ID}, res.Version, time.Now()); err != nil {
		t.Fatal(err)
	}
	waitVersion(t, b, res.Version)
	if body := b.stream(t, key, "how do I start?"); !strings.Contains(body, "content_filter") || strings.Contains(body, "delta-term kit") {
		t.Fatalf("replica B still serves the answer: %s", body)
	}
	var timing review.Timing
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		ts, _, err := a.r.Review.Timings(ctx, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if len(ts) == 1 && ts[0].Replicas == 2 {
			timing = ts[0]
			break
		}
	}
	if timing.Replicas != 2 || timing.Enforced.Before(timing.Published) || timing.Published.Before(timing.Decided) {
		t.Fatalf("timing: %+v", timing)
	}
	t.Logf("finding to fix: queued %v, decided %v, published %v, enforced on %d replicas %v after the exchange",
		timing.Queued.Sub(timing.Exchange), timing.Decided.Sub(timing.Exchange), timing.Published.Sub(timing.Exchange),
		timing.Replicas, timing.Enforced.Sub(timing.Exchange))
}
