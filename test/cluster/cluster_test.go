package cluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firebreak/firebreak/internal/fakeupstream"
	"github.com/firebreak/firebreak/internal/loadgen"
)

// TestCluster runs three replicas of the real binary on one PostgreSQL
// schema and one Redis, behind nginx with the example configuration, and
// checks what a cluster promises: traffic spreads over the replicas,
// limits are exact across them, changes made on one are enforced on the
// others, killing a replica fails only the requests that were in flight,
// and the audit chain verifies afterwards. It logs its figures (the
// "Cluster" section of docs/benchmarks.md).
func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts three replicas and nginx")
	}
	nginx := findNginx(t)
	c := startCluster(t, nginx)

	t.Run("mixed traffic over the replicas", c.mixedTraffic)
	t.Run("rate limit exact across replicas", c.rateLimit)
	t.Run("concurrency limit across replicas", c.concurrencyLimit)
	t.Run("changes reach every replica", c.propagation)
	t.Run("a replica killed under load", c.killOne)
	t.Run("audit chain verifies", c.verifyChain)
}

// upstreamScript answers like a small model: streams of 28 words paced
// 4 ms apart, and a slow answer for prompts marked SLOW (used to hold
// concurrency slots). It records when each SLOW request arrived.
type upstreamScript struct {
	mu   sync.Mutex
	slow []time.Time
}

const slowDelay = 1500 * time.Millisecond

func (u *upstreamScript) reply(req fakeupstream.Request) fakeupstream.Reply {
	p := req.Messages[len(req.Messages)-1].Content
	if strings.Contains(p, "SLOW") {
		u.mu.Lock()
		u.slow = append(u.slow, time.Now())
		u.mu.Unlock()
		return fakeupstream.Reply{Text: "A slow answer.", HeaderDelay: slowDelay}
	}
	return fakeupstream.Reply{
		Text:       "Rinse the rice, use one and a quarter cups of water per cup, simmer covered for fifteen minutes and let it rest for ten before you serve it.",
		ChunkDelay: 4 * time.Millisecond,
	}
}

// maxSlowOverlap is the largest number of SLOW requests the upstream was
// working on at once, each counted for slowDelay from its arrival (the
// gateway holds the concurrency slot at least that long).
func (u *upstreamScript) maxSlowOverlap() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	best := 0
	for _, a := range u.slow {
		n := 0
		for _, b := range u.slow {
			if !b.After(a) && a.Sub(b) < slowDelay {
				n++
			}
		}
		best = max(best, n)
	}
	return best
}

func (c *cluster) mixedTraffic(t *testing.T) {
	before := c.servedByNode(t)
	samples, err := loadgen.Run(context.Background(), loadgen.Options{
		URL: c.lb + "/v1", Key: c.key, Model: "general", Requests: 300, Concurrency: 12,
		User: func(i int) string { return fmt.Sprintf("user-%d", i%17) },
	})
	if err != nil {
		t.Fatal(err)
	}
	c.answered(samples)
	sum := loadgen.Summarize(samples)
	after := c.servedByNode(t)
	per := make([]int, len(after))
	for i := range after {
		per[i] = int(after[i] - before[i])
	}
	t.Logf("FIGURE mixed traffic through nginx: %s; served by replica: %v", sum, per)
	if sum.Errors != 0 {
		t.Errorf("%d of %d requests failed: first %v", sum.Errors, sum.Requests, firstErr(samples))
	}
	for i, n := range per {
		if n == 0 {
			t.Errorf("replica %d served none of the requests (per replica: %v)", i+1, per)
		}
	}
}

func (c *cluster) rateLimit(t *testing.T) {
	const rpm = 60
	key := c.createKey(t, "rpm", "--rpm", fmt.Sprint(rpm))
	samples, err := loadgen.Run(context.Background(), loadgen.Options{
		URL: c.lb + "/v1", Key: key, Model: "general", Requests: 150, Concurrency: 15,
	})
	if err != nil {
		t.Fatal(err)
	}
	c.answered(samples)
	passed, limited := count(samples)
	t.Logf("FIGURE rate limit %d/min, 150 requests over 3 replicas: %d passed (overshoot %d), %d refused with 429",
		rpm, passed, passed-rpm, limited)
	if passed != rpm || limited != 150-rpm {
		t.Errorf("%d passed and %d were refused with 429; want exactly %d and %d", passed, limited, rpm, 150-rpm)
	}
}

func (c *cluster) concurrencyLimit(t *testing.T) {
	const limit = 4
	key := c.createKey(t, "concurrent", "--concurrent", fmt.Sprint(limit))
	samples, err := loadgen.Run(context.Background(), loadgen.Options{
		URL: c.lb + "/v1", Key: key, Model: "general", Requests: 24, Concurrency: 24, StreamEvery: 3,
		Prompt: func(i int) string { return fmt.Sprintf("SLOW question %d", i) },
	})
	if err != nil {
		t.Fatal(err)
	}
	c.answered(samples)
	passed, limited := count(samples)
	overlap := c.upstream.maxSlowOverlap()
	t.Logf("FIGURE concurrency limit %d, 24 requests at once over 3 replicas: %d passed, %d refused with 429, at most %d at the upstream at once",
		limit, passed, limited, overlap)
	if passed+limited != len(samples) {
		t.Errorf("%d requests neither passed nor got 429: %v", len(samples)-passed-limited, firstErr(samples))
	}
	if overlap > limit || passed < limit {
		t.Errorf("at most %d requests at the upstream at once and %d passed; want at most %d at once and at least %d passed",
			overlap, passed, limit, limit)
	}
}

// answered counts the requests that got a whole answer (a stream to its
// [DONE]): each of them must have its audit record.
func (c *cluster) answered(samples []loadgen.Sample) {
	for _, s := range samples {
		if s.Err == nil {
			c.answers++
		}
	}
}

func count(samples []loadgen.Sample) (passed, limited int) {
	for _, s := range samples {
		switch {
		case s.Err == nil:
			passed++
		case s.Status == http.StatusTooManyRequests:
			limited++
		}
	}
	return passed, limited
}

func firstErr(samples []loadgen.Sample) error {
	for _, s := range samples {
		if s.Err != nil {
			return fmt.Errorf("request %d (stream %v, status %d): %w", s.Index, s.Stream, s.Status, s.Err)
		}
	}
	return nil
}

// propagation makes each kind of change through the first replica and
// measures how long the other two take to enforce it.
func (c *cluster) propagation(t *testing.T) {
	others := c.nodes[1:]
	chat := func(n *node, key, user, prompt string) (int, string) {
		body := fmt.Sprintf(`{"model":"general","user":%q,"messages":[{"role":"user","content":%q}]}`, user, prompt)
		req, _ := http.NewRequest("POST", n.url+"/v1/chat/completions", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	adminGet := func(n *node, token string) int {
		req, _ := http.NewRequest("GET", n.url+"/admin/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	// Before any change: every check passes on every replica (this also
	// fills the replicas' caches, which the changes must invalidate).
	revokeKey, revokeID := c.createKeyID(t, "to-revoke")
	bobToken := c.createStaff(t, "bob", "viewer")
	bundle := c.bundleWithTerm(t, "quillfrond elixir")
	for _, n := range others {
		if code, body := chat(n, c.key, "mallory", "hello"); code != 200 {
			t.Fatalf("before the blacklist: %d %s", code, body)
		}
		if code, body := chat(n, revokeKey, "", "hello"); code != 200 {
			t.Fatalf("before the revocation: %d %s", code, body)
		}
		if code, body := chat(n, c.key, "", "tell me the quillfrond elixir"); code != 200 || strings.Contains(body, "content_filter") {
			t.Fatalf("before the publish: %d %s", code, body)
		}
		if code := adminGet(n, bobToken); code != 200 {
			t.Fatalf("before disabling the member: %d", code)
		}
	}

	changes := []struct {
		name     string
		change   []string
		enforced func(n *node) bool
	}{
		{"blacklist entry", []string{"blacklist", "add", "--kind", "user", "--value", "mallory", "--tenant", "default", "--reason", "test"},
			func(n *node) bool { code, _ := chat(n, c.key, "mallory", "hello"); return code == http.StatusForbidden }},
		{"key revocation", []string{"keys", "revoke", revokeID, "--yes"},
			func(n *node) bool { code, _ := chat(n, revokeKey, "", "hello"); return code == http.StatusUnauthorized }},
		{"policy publish", []string{"policy", "publish", bundle, "--reason", "new term"},
			func(n *node) bool {
				code, body := chat(n, c.key, "", "tell me the quillfrond elixir")
				return code == 200 && strings.Contains(body, "content_filter")
			}},
		{"staff member disabled", []string{"staff", "set", "bob", "--state", "disabled"},
			func(n *node) bool {
				code := adminGet(n, bobToken)
				return code == http.StatusUnauthorized || code == http.StatusForbidden
			}},
	}
	for _, ch := range changes {
		c.cli(t, c.nodes[0], ch.change...)
		changed := time.Now()
		var worst time.Duration
		for i, n := range others {
			// A bound against a hang, not a measurement: the figure is logged.
			deadline := changed.Add(30 * time.Second)
			for !ch.enforced(n) {
				if time.Now().After(deadline) {
					t.Fatalf("%s: replica %d does not enforce it after 30 s", ch.name, i+2)
				}
				time.Sleep(5 * time.Millisecond)
			}
			worst = max(worst, time.Since(changed))
		}
		t.Logf("FIGURE %s made on replica 1, enforced on replicas 2 and 3 after %s", ch.name, worst.Round(time.Millisecond))
	}
}

// killOne runs mixed load through nginx, SIGKILLs the third replica in
// the middle, and checks that every failed request had started before the
// kill: requests sent afterwards all succeed on the other replicas.
func (c *cluster) killOne(t *testing.T) {
	// killAt is when the replica's process was gone: a request sent before
	// that may have reached it; one sent after must not fail.
	killed := make(chan time.Time, 1)
	go func() {
		time.Sleep(1500 * time.Millisecond)
		c.nodes[2].kill(t)
		killed <- time.Now()
	}()
	samples, err := loadgen.Run(context.Background(), loadgen.Options{
		URL: c.lb + "/v1", Key: c.key, Model: "general", Duration: 5 * time.Second, Concurrency: 10,
	})
	if err != nil {
		t.Fatal(err)
	}
	killAt := <-killed
	c.answered(samples)
	var inFlight, failed, failedAfter, after int
	for _, s := range samples {
		if s.Start.Before(killAt) && s.End.After(killAt) {
			inFlight++
		}
		if !s.Start.Before(killAt) {
			after++
		}
		if s.Err != nil {
			failed++
			if !s.Start.Before(killAt) {
				failedAfter++
				t.Errorf("request %d started %s after the kill and failed: status %d, %v",
					s.Index, s.Start.Sub(killAt).Round(time.Millisecond), s.Status, s.Err)
			}
		}
	}
	sum := loadgen.Summarize(samples)
	t.Logf("FIGURE replica 3 SIGKILLed under load: %s; %d requests in flight on the cluster at the kill, %d failed (all started before it: %v); %d sent after the kill, %d of them failed",
		sum, inFlight, failed, failedAfter == 0, after, failedAfter)
	if failed > inFlight {
		t.Errorf("%d requests failed, more than the %d in flight at the kill", failed, inFlight)
	}
	if after == 0 {
		t.Error("no request was sent after the kill")
	}
}

func (c *cluster) verifyChain(t *testing.T) {
	for _, n := range c.nodes[:2] {
		n.stop(t)
	}
	out := c.offline(t, "audit", "verify")
	var rep struct {
		OK                bool  `json:"ok"`
		Records           int64 `json:"records"`
		Checkpoints       int   `json:"checkpoints"`
		SignaturesChecked bool  `json:"signatures_checked"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("audit verify printed %q: %v", out, err)
	}
	t.Logf("FIGURE audit verify after the run: ok=%v, %d records (%d whole answers to the load), %d checkpoints, signatures checked %v",
		rep.OK, rep.Records, c.answers, rep.Checkpoints, rep.SignaturesChecked)
	if !rep.OK || rep.Records < int64(c.answers) {
		t.Errorf("audit verify: %+v, want ok and a record for each of the %d whole answers", rep, c.answers)
	}
}

// bundleWithTerm writes the default bundle (firebreak policy init) with
// one more term refused under A1d.
func (c *cluster) bundleWithTerm(t *testing.T, term string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "bundle")
	c.cli(t, c.nodes[0], "policy", "init", dir)
	f, err := os.OpenFile(filepath.Join(dir, "lexicons", "a1d-terrorism.txt"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "%s\tA1d\trefuse\n", term)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}
