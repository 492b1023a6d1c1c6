package replica_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/config"
	"github.com/firebreak/firebreak/internal/fakeupstream"
	"github.com/firebreak/firebreak/policy"
	"github.com/firebreak/firebreak/replica"
	"github.com/firebreak/firebreak/store/storetest"
)

// node is one replica of a test deployment, serving on httptest.
type node struct {
	r   *replica.Replica
	url string
}

// startNodes starts n replicas sharing one PostgreSQL schema and server
// secret, as replicas of one deployment do, in front of one fake upstream.
func startNodes(t *testing.T, n int) []node {
	t.Helper()
	up := fakeupstream.New(fakeupstream.Options{})
	t.Cleanup(up.Close)
	dsn, secret := storetest.PostgresDSN(t), filepath.Join(t.TempDir(), "server.secret")
	var nodes []node
	for range n {
		cfg := config.Default()
		cfg.Data, cfg.Database, cfg.SecretFile = t.TempDir(), dsn, secret
		nodes = append(nodes, startNode(t, cfg, up.URL))
	}
	return nodes
}

// startNode starts a replica of cfg whose model "general" is served by
// the upstream at upURL.
func startNode(t *testing.T, cfg config.Config, upURL string) node {
	t.Helper()
	cfg.Upstreams = []config.Upstream{{Name: "fake", BaseURL: upURL}}
	cfg.Models = []config.Model{{Name: "general", Targets: []config.Target{{Upstream: "fake", Model: "m"}}}}
	cfg.Routing.General = "general"
	r, err := replica.New(t.Context(), cfg, replica.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	srv := httptest.NewServer(r.Handler())
	t.Cleanup(srv.Close)
	return node{r: r, url: srv.URL}
}

// strikesBundle enforces two terms of different classes ("alpha" A1d,
// "beta" A3c, both refused) with the given strikes section.
func strikesBundle(t *testing.T, strikes string) *policy.Bundle {
	t.Helper()
	b, err := policy.NewBundle(map[string][]byte{
		policy.SpecFile: []byte("format: 1\nname: strikes\nlexicons:\n  - {file: terms.txt}\n" + strikes),
		"terms.txt":     []byte("alpha-term\tA1d\trefuse\nbeta-term\tA3c\trefuse\n"),
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// waitVersion waits until nd enforces version: another replica's publish
// reaches it through the change notifier.
func waitVersion(t *testing.T, nd node, version string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if nd.r.Policy.Current().Version() == version {
			return
		}
	}
	t.Fatalf("replica still enforces %s, want %s", nd.r.Policy.Current().Version(), version)
}

// chat sends one chat completion as end user user and returns the status
// and the error code of a refusal.
func (nd node) chat(t *testing.T, key, user, text string) (int, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"model": "general", "user": user,
		"messages": []map[string]string{{"role": "user", "content": text}}})
	status, b := nd.post(t, key, "/v1/chat/completions", string(body))
	var e struct{ Error struct{ Code string } }
	_ = json.Unmarshal(b, &e)
	return status, e.Error.Code
}

// suspended reports whether user may no longer chat on nd.
func (nd node) suspended(t *testing.T, key, user string) bool {
	t.Helper()
	status, code := nd.chat(t, key, user, "hello")
	if status != http.StatusOK && (status != http.StatusForbidden || code != "forbidden") {
		t.Fatalf("clean request of %s: status %d code %q", user, status, code)
	}
	return status == http.StatusForbidden
}

// TestStrikesFollowPolicy publishes, on one replica, bundles whose strikes
// sections differ (other codes, other thresholds) and shows that the
// violations sent to a second replica follow the ladder in force, and that
// a rollback restores the previous one.
func TestStrikesFollowPolicy(t *testing.T) {
	t.Parallel()
	nodes := startNodes(t, 2)
	a, b := nodes[0], nodes[1]
	ctx := context.Background()
	tenant, err := a.r.Accounts.Tenants.Create(ctx, account.Tenant{Name: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := a.r.Accounts.Keys.Create(ctx, account.Key{TenantID: tenant.ID, Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	// v1: only A1 bears strikes; the third one suspends.
	v1 := strikesBundle(t, "strikes:\n  codes: [A1]\n  ladder:\n    - {total: 3, action: suspend, duration: 1d}\n")
	// v2: only A3 bears strikes; the first one suspends.
	v2 := strikesBundle(t, "strikes:\n  codes: [A3]\n  ladder:\n    - {total: 1, action: suspend, duration: 1d}\n")

	violate := func(user, text string, times int) {
		t.Helper()
		for range times {
			if status, _ := b.chat(t, key, user, text); status != http.StatusOK && status != http.StatusForbidden {
				t.Fatalf("violation by %s: status %d", user, status)
			}
		}
	}
	steps := []struct {
		name    string
		enforce func() string // puts a version in force on replica a, returns it
		user    string
		text    string
		times   int
		want    bool // suspended afterwards, on replica b
	}{
		{"v1: A3 bears no strike", publish(t, a, v1), "u1", "beta-term", 3, false},
		{"v1: two A1 strikes stay under three", nil, "u2", "alpha-term", 2, false},
		{"v1: the third A1 strike suspends", nil, "u3", "alpha-term", 3, true},
		{"v2: A1 bears no strike", publish(t, a, v2), "u4", "alpha-term", 3, false},
		{"v2: one A3 strike suspends", nil, "u5", "beta-term", 1, true},
		{"rollback to v1: A3 bears no strike", rollback(t, a), "u6", "beta-term", 3, false},
		{"rollback to v1: the third A1 strike suspends", nil, "u7", "alpha-term", 3, true},
	}
	for _, st := range steps {
		if st.enforce != nil {
			waitVersion(t, b, st.enforce())
		}
		violate(st.user, st.text, st.times)
		if got := b.suspended(t, key, st.user); got != st.want {
			t.Errorf("%s: suspended %v, want %v", st.name, got, st.want)
		}
	}
}

// publish returns a step that publishes bundle on nd.
func publish(t *testing.T, nd node, bundle *policy.Bundle) func() string {
	return func() string {
		t.Helper()
		res, err := nd.r.Policy.Publish(context.Background(), bundle, policy.Change{Reason: "test"})
		if err != nil {
			t.Fatal(err)
		}
		return res.Version
	}
}

// rollback returns a step that rolls nd back to the previous version.
func rollback(t *testing.T, nd node) func() string {
	return func() string {
		t.Helper()
		res, err := nd.r.Policy.Rollback(context.Background(), "", policy.Change{Reason: "test"})
		if err != nil {
			t.Fatal(err)
		}
		return res.Version
	}
}
