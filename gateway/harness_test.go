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
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/config"
	"github.com/firebreak/firebreak/identity"
	"github.com/firebreak/firebreak/internal/fakeupstream"
	"github.com/firebreak/firebreak/kb"
	"github.com/firebreak/firebreak/policy"
	"github.com/firebreak/firebreak/replica"
	"github.com/firebreak/firebreak/review"
	"github.com/firebreak/firebreak/sanction"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

// testTerms is the lexicon every gateway test runs with: text, code and
// action, as the lines of a policy bundle's lexicon file.
var testTerms = []string{
	"制作炸弹\tA1d\trefuse",
	"pipe bomb\tA1d\trefuse",
	"secret recipe\tA3c\tmask",
	"borderline\tA1h\treview",
}

// harness is a whole replica, built by replica.New from a config as
// `firebreak serve` builds it, in front of scripted upstreams: a real
// SQLite store, accounts, limits, router and the policy service enforcing
// a bundle of testTerms.
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
	judgeUp    *fakeupstream.Server
	identity   *identity.Service
	trail      *audit.Trail
	complaints *audit.Complaints
	db         *store.DB
	policy     *policy.Service
	version    string            // the version of the policy in force at start
	labelKey   ed25519.PublicKey // verifies the labels' signatures
	kb         *kb.Service       // knowledge bases and grounded routes
	review     *review.Queue     // the review desk; nil without the audit trail
	cfg        config.Config     // what the replica was built from
	opts       harnessOptions
}

// second starts another replica on the same database, secrets and
// upstreams (the harness must use postgres) and returns a harness that
// talks to it with the same key and tenant.
func (h *harness) second() *harness {
	h.t.Helper()
	if !h.opts.postgres {
		h.t.Fatal("second replica: the harness needs postgres")
	}
	cfg := h.cfg
	cfg.Data = h.t.TempDir()
	r, err := replica.New(context.Background(), cfg, replica.Options{Logger: h.opts.logger, SMS: h.opts.sms})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(r.Close)
	h2 := *h
	h2.db, h2.accounts, h2.reg, h2.sanction, h2.identity, h2.trail, h2.complaints =
		r.DB, r.Accounts, r.Registry, r.Sanctions, r.Identity, r.Trail, r.Complaints
	h2.policy = r.Policy
	h2.srv = httptest.NewServer(r.Handler())
	h.t.Cleanup(h2.srv.Close)
	return &h2
}

type harnessOptions struct {
	replicas     int             // fake upstreams behind model "general"; default 1
	upstream     config.Upstream // template for each upstream's timeouts
	keyLimits    account.Limits
	userLimits   account.Limits
	maxBody      int64
	sanctions    bool              // violations bear strikes (the default ladder); otherwise no code does
	audit        bool              // the audit trail (flagged content encrypted); otherwise audit.disabled
	retainAll    bool              // with audit: clean content encrypted too, so tests can read what review read
	policy       string            // more of policy.yaml (review, actions, overlays …)
	files        map[string]string // more files of the bundle
	identity     config.Identity   // real-name and minors' settings
	sms          identity.Sender   // receives phone verification codes
	logger       *slog.Logger
	guard        bool                                          // a guard model (Llama Guard 3 format) played by a scripted server
	judge        func(fakeupstream.Request) fakeupstream.Reply // the support check's judge model, played by a scripted server
	maxStream    time.Duration
	writeTimeout time.Duration
	postgres     bool   // the store on a fresh PostgreSQL schema, so that second() can share it
	ipHeader     string // the client-IP header a trusted proxy sets
}

func newHarness(t testing.TB, o harnessOptions) *harness {
	t.Helper()
	ctx := context.Background()
	if o.replicas == 0 {
		o.replicas = 1
	}
	h := &harness{t: t}
	cfg := config.Default()
	cfg.Data = t.TempDir()
	if o.postgres {
		cfg.Database = storetest.PostgresDSN(t)
		shared := t.TempDir() // the secrets every replica of one database shares
		cfg.SecretFile = filepath.Join(shared, "server.secret")
		cfg.Audit.Keyring = filepath.Join(shared, "audit.keys")
		cfg.Audit.SigningKey = filepath.Join(shared, "audit-signing.key")
	}
	cfg.ClientIPHeader = o.ipHeader
	cfg.Safety.Bundle = writeBundle(t, o.sanctions, o.policy, o.files)
	cfg.Audit.Disabled = !o.audit
	if o.retainAll {
		cfg.Audit.Clean = "encrypted"
	}
	cfg.Identity = o.identity
	if o.maxBody > 0 {
		cfg.HTTP.MaxBodyBytes = o.maxBody
	}
	if o.writeTimeout > 0 {
		cfg.HTTP.WriteTimeout = o.writeTimeout
	}
	if o.maxStream > 0 {
		cfg.HTTP.MaxStream = o.maxStream
	}
	var targets []config.Target
	for i := 0; i < o.replicas; i++ {
		fu := fakeupstream.New(fakeupstream.Options{})
		t.Cleanup(fu.Close)
		h.ups = append(h.ups, fu)
		c := o.upstream
		c.Name, c.BaseURL = "up"+string(rune('a'+i)), fu.URL
		cfg.Upstreams = append(cfg.Upstreams, c)
		targets = append(targets, config.Target{Upstream: c.Name, Model: "fake-model"})
	}
	cfg.Models = []config.Model{
		{Name: "general", Domain: "general", Targets: targets},
		{Name: "medical", Domain: "medical", Targets: targets[:1]},
	}
	cfg.Routing = config.Routing{General: "general", Domains: []config.DomainRule{
		{Domain: "medical", Model: "medical", Keywords: []string{"症状", "symptom"}}}}
	if o.guard {
		h.guardUp = fakeupstream.New(fakeupstream.Options{Default: fakeupstream.Reply{Text: "safe"}})
		t.Cleanup(h.guardUp.Close)
		cfg.Safety.Guard = config.Guard{BaseURL: h.guardUp.URL, Model: "llama-guard-3", Format: "llama-guard-3", Timeout: 2 * time.Second}
	}
	if o.judge != nil {
		h.judgeUp = fakeupstream.New(fakeupstream.Options{Script: o.judge})
		t.Cleanup(h.judgeUp.Close)
		cfg.Grounding.Judge = config.Judge{BaseURL: h.judgeUp.URL, Model: "judge", Timeout: 2 * time.Second}
	}
	h.cfg, h.opts = cfg, o
	r, err := replica.New(ctx, cfg, replica.Options{Logger: o.logger, SMS: o.sms})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	h.db, h.accounts, h.reg, h.sanction, h.identity, h.trail, h.complaints =
		r.DB, r.Accounts, r.Registry, r.Sanctions, r.Identity, r.Trail, r.Complaints
	h.policy, h.version, h.kb, h.review = r.Policy, r.Policy.Current().Version(), r.KB, r.Review
	signer, err := replica.SigningKey(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	h.labelKey = signer.Public().(ed25519.PublicKey)
	h.tenant, err = r.Accounts.Tenants.Create(ctx, account.Tenant{Name: "default", Limits: o.userLimits})
	if err != nil {
		t.Fatal(err)
	}
	_, h.key, err = r.Accounts.Keys.Create(ctx, account.Key{TenantID: h.tenant.ID, Name: "test", Limits: o.keyLimits})
	if err != nil {
		t.Fatal(err)
	}
	h.srv = httptest.NewServer(r.Handler())
	t.Cleanup(h.srv.Close)
	return h
}

// writeBundle writes the policy bundle of the tests: testTerms, no code
// bearing strikes unless strikes is set, more policy.yaml and more files.
func writeBundle(t testing.TB, strikes bool, more string, files map[string]string) string {
	t.Helper()
	spec := "format: 1\nname: gateway-test\n" + more
	if !strikes {
		spec += "strikes: {codes: []}\n"
	}
	dir := t.TempDir()
	all := bundleFiles(spec)
	for name, text := range files {
		all[name] = []byte(text)
	}
	for name, text := range all {
		if err := os.WriteFile(filepath.Join(dir, name), text, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// bundleFiles returns the files of a bundle enforcing testTerms whose
// policy.yaml is spec followed by the lexicon section.
func bundleFiles(spec string) map[string][]byte {
	return map[string][]byte{
		policy.SpecFile: []byte(spec + "lexicons:\n  - {file: terms.txt}\n"),
		"terms.txt":     []byte(strings.Join(testTerms, "\n") + "\n"),
	}
}

// labelled is text as a client gets it under the test bundle, which sets
// no labels: followed by the English explicit label of label.Default.
func labelled(text string) string { return text + "\n\nAI-generated content" }

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
