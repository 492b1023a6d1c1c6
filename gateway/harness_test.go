package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/gateway"
	"github.com/firebreak/firebreak/identity"
	"github.com/firebreak/firebreak/internal/fakeupstream"
	"github.com/firebreak/firebreak/label"
	"github.com/firebreak/firebreak/limit"
	"github.com/firebreak/firebreak/policy"
	"github.com/firebreak/firebreak/safety"
	"github.com/firebreak/firebreak/safety/guard"
	"github.com/firebreak/firebreak/safety/lexicon"
	"github.com/firebreak/firebreak/sanction"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/upstream"
)

// testTerms is the lexicon every gateway test runs with.
var testTerms = []lexicon.Term{
	{ID: "t1", Text: "制作炸弹", Code: "A1d", Action: "refuse"},
	{ID: "t2", Text: "pipe bomb", Code: "A1d", Action: "refuse"},
	{ID: "t3", Text: "secret recipe", Code: "A3c", Action: "mask"},
	{ID: "t4", Text: "borderline", Code: "A1h", Action: "review"},
}

// harness is a gateway in front of scripted upstreams, on a real SQLite
// store with real accounts, limits, router and safety engine.
type harness struct {
	t          testing.TB
	ups        []*fakeupstream.Server
	srv        *httptest.Server
	accounts   *account.Service
	reg        *prometheus.Registry
	key        string // an API key of tenant "default"
	tenant     *account.Tenant
	sanction   *sanction.Service
	guardUp    *fakeupstream.Server
	identity   *identity.Service
	trail      *audit.Trail
	complaints *audit.Complaints
	db         *store.DB
	policy     *policy.Service   // with harnessOptions.labels
	labelKey   ed25519.PublicKey // verifies the labels' signatures
}

type harnessOptions struct {
	replicas   int             // fake upstreams behind model "general"; default 1
	upstream   upstream.Config // template for each upstream's timeouts
	keyLimits  account.Limits
	userLimits account.Limits
	maxBody    int64
	sanctions  bool              // graded sanctions and blacklists on
	audit      bool              // an audit trail with a keyring (flagged content encrypted)
	identity   *identity.Options // real-name service with these options (DB, Users, Secret filled in)
	tokenKeys  []string          // identity token key files
	logger     *slog.Logger
	guard      bool // a guard model (Llama Guard 3 format) played by a scripted server
	maxStream  time.Duration
	labels     bool // labels from a policy service on the store (h.policy), signed with h.labelKey
}

func newHarness(t testing.TB, o harnessOptions) *harness {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, store.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	accounts, err := account.New(account.Options{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { accounts.Close() })
	tenant, err := accounts.Tenants.Create(ctx, account.Tenant{Name: "default", Limits: o.userLimits})
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := accounts.Keys.Create(ctx, account.Key{TenantID: tenant.ID, Name: "test", Limits: o.keyLimits})
	if err != nil {
		t.Fatal(err)
	}
	if o.replicas == 0 {
		o.replicas = 1
	}
	h := &harness{t: t, accounts: accounts, key: key, tenant: tenant, reg: prometheus.NewRegistry()}
	var ups []upstream.Config
	var targets []upstream.Target
	for i := 0; i < o.replicas; i++ {
		fu := fakeupstream.New(fakeupstream.Options{})
		t.Cleanup(fu.Close)
		h.ups = append(h.ups, fu)
		c := o.upstream
		c.Name, c.BaseURL = "up"+string(rune('a'+i)), fu.URL
		ups = append(ups, c)
		targets = append(targets, upstream.Target{Upstream: c.Name, Model: "fake-model"})
	}
	engine, err := safety.Compile(safety.Config{Version: "test-1", Terms: testTerms})
	if err != nil {
		t.Fatal(err)
	}
	limiter, err := limit.New(limit.Options{Quota: accounts})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { limiter.Close(context.Background()) })
	if o.sanctions {
		h.sanction, err = sanction.New(ctx, sanction.Options{DB: db, Secret: []byte("test secret of enough length")})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.sanction.Close() })
	}
	h.db = db
	var recorder gateway.Recorder
	if o.audit {
		dir := t.TempDir()
		if _, err := audit.GenerateKey(filepath.Join(dir, "keys")); err != nil {
			t.Fatal(err)
		}
		keys, err := audit.LoadKeyring(filepath.Join(dir, "keys"))
		if err != nil {
			t.Fatal(err)
		}
		h.trail, err = audit.New(audit.Options{DB: db, Keys: keys, CheckpointEvery: -1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.trail.Close() })
		recorder = h.trail
		h.complaints, err = audit.NewComplaints(audit.ComplaintOptions{DB: db, Keys: keys})
		if err != nil {
			t.Fatal(err)
		}
	}
	var tokens *identity.TokenVerifier
	if o.identity != nil {
		io := *o.identity
		io.DB, io.Users, io.Secret = db, accounts.Users, []byte("identity secret of enough length")
		h.identity, err = identity.New(io)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.identity.Close() })
		if len(o.tokenKeys) > 0 {
			if tokens, err = identity.NewTokenVerifier(identity.TokenOptions{KeyFiles: o.tokenKeys}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var guardModel gateway.GuardModel
	if o.guard {
		h.guardUp = fakeupstream.New(fakeupstream.Options{Default: fakeupstream.Reply{Text: "safe"}})
		t.Cleanup(h.guardUp.Close)
		g, err := guard.New(guard.Options{BaseURL: h.guardUp.URL, Model: "llama-guard-3", Format: guard.LlamaGuard3, Timeout: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		guardModel = g
	}
	var labels gateway.Labels
	var signer *label.Signer
	if o.labels {
		h.policy, err = policy.New(ctx, policy.Options{DB: db})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.policy.Close() })
		var priv ed25519.PrivateKey
		if h.labelKey, priv, err = ed25519.GenerateKey(nil); err != nil {
			t.Fatal(err)
		}
		labels, signer = h.policy, label.NewSigner(priv)
	}
	var router *upstream.Router
	gw, err := gateway.New(gateway.Options{
		Labels: labels, LabelSigner: signer,
		Guard: guardModel, MaxStream: o.maxStream,
		Identity: h.identity, Tokens: tokens, Logger: o.logger,
		Sanctions: h.sanction, Recorder: recorder, Complaints: h.complaints,
		Accounts: accounts, Limiter: limiter, MaxBodyBytes: o.maxBody, Registerer: h.reg,
		Policies: fixedEngine{engine},
		Router:   func() *upstream.Router { return router },
	})
	if err != nil {
		t.Fatal(err)
	}
	router, err = upstream.New(upstream.Options{
		Upstreams: ups, Observer: gw.Observer(), EjectAfter: 100,
		Models: []upstream.Model{
			{Name: "general", Domain: "general", Targets: targets},
			{Name: "medical", Domain: "medical", Targets: targets[:1]},
		},
		Routing: upstream.Routing{General: "general", Domains: []upstream.DomainRule{
			{Domain: "medical", Model: "medical", Keywords: []string{"症状", "symptom"}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { router.Close() })
	h.srv = httptest.NewServer(gw)
	t.Cleanup(h.srv.Close)
	return h
}

// post sends a chat completion with the harness key.
func (h *harness) post(body string) *http.Response {
	h.t.Helper()
	return h.do(http.MethodPost, "/v1/chat/completions", body, h.key)
}

func (h *harness) do(method, path, body, key string) *http.Response {
	h.t.Helper()
	return h.send(method, path, body, key, nil)
}

// doWith sends a request with the harness key and extra headers.
func (h *harness) doWith(method, path, body string, headers map[string]string) *http.Response {
	h.t.Helper()
	return h.send(method, path, body, h.key, headers)
}

func (h *harness) send(method, path, body, key string, headers map[string]string) *http.Response {
	h.t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func (h *harness) counter(name string, labels ...string) float64 {
	h.t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		h.t.Fatal(err)
	}
	var total float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue metric
				}
			}
			total += m.GetCounter().GetValue()
		}
	}
	return total
}

var _ = testutil.ToFloat64

// chat builds a request body.
func chat(model, content string, stream bool, extra string) string {
	c, _ := json.Marshal(content)
	s := `{"model":"` + model + `","messages":[{"role":"user","content":` + string(c) + `}]`
	if stream {
		s += `,"stream":true`
	}
	if extra != "" {
		s += "," + extra
	}
	return s + "}"
}

// sse reads a whole SSE body and returns its data payloads.
func sse(t *testing.T, r io.Reader) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, d)
		}
	}
	return out
}

// streamText concatenates the content deltas of choice 0 and returns the
// last finish reason seen.
func streamText(t *testing.T, events []string) (text, finish string) {
	t.Helper()
	var b strings.Builder
	for _, e := range events {
		if e == "[DONE]" || strings.HasPrefix(e, `{"error"`) {
			continue
		}
		var c struct {
			Choices []struct {
				Delta        struct{ Content *string }
				FinishReason *string `json:"finish_reason"`
			}
		}
		if err := json.Unmarshal([]byte(e), &c); err != nil {
			t.Fatalf("bad chunk %q: %v", e, err)
		}
		for _, ch := range c.Choices {
			if ch.Delta.Content != nil {
				b.WriteString(*ch.Delta.Content)
			}
			if ch.FinishReason != nil {
				finish = *ch.FinishReason
			}
		}
	}
	return b.String(), finish
}

func decodeJSON(t *testing.T, r io.Reader, v any) {
	t.Helper()
	b, _ := io.ReadAll(r)
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}

var _ = bytes.NewReader

// fixedEngine is a Policies with one engine for every request.
type fixedEngine struct{ e *safety.Engine }

func (f fixedEngine) Engine(string, string, bool) *safety.Engine { return f.e }
