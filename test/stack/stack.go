// Package stack assembles a whole Firebreak gateway in process — a real
// SQLite store, tenant and API keys, limiter, sanctions, identity checks,
// policy service, 1+N router and audit trail — in front of a scripted fake
// upstream, all on 127.0.0.1. The
// SDK compatibility tests and the latency benchmark under test/ run against
// it, so they measure and exercise the same pipeline `firebreak serve` builds.
package stack

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/gateway"
	"github.com/firebreak/firebreak/identity"
	"github.com/firebreak/firebreak/internal/fakeupstream"
	"github.com/firebreak/firebreak/limit"
	"github.com/firebreak/firebreak/policy"
	"github.com/firebreak/firebreak/safety"
	"github.com/firebreak/firebreak/sanction"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
	"github.com/firebreak/firebreak/upstream"
)

// Model is the public model the stack serves; "auto" and requests without a
// model reach it too.
const Model = "general"

// UpstreamModel is the name the fake upstream sees for Model.
const UpstreamModel = "fake-model"

// Options configure a Stack. The zero value is a gateway with the starter
// lexicon and PII detectors, no limits on Key, in front of an upstream that
// answers fakeupstream.DefaultText.
type Options struct {
	// Script decides the upstream's reply to each request. Default: the
	// fake upstream's default answer.
	Script func(fakeupstream.Request) fakeupstream.Reply
	// Policy, when set, is compiled into the one safety engine of every
	// request. Default: a policy service over the store enforcing the
	// built-in default bundle (policy.Default: the starter lexicon and the
	// PII detectors), as `firebreak serve` runs it when nothing is published.
	Policy *policy.Sources
	// KeyLimits are the limits of Stack.Key. Default: none.
	KeyLimits account.Limits
	// UserLimits are the tenant's limits for each end user. Default: none.
	UserLimits account.Limits
	// Upstream is the template of the upstream's settings (timeouts, caps);
	// its name and base URL are filled in. Default: the upstream defaults.
	Upstream upstream.Config
	// Wrap, when set, wraps the gateway's handler, e.g. to label profiles.
	Wrap func(http.Handler) http.Handler
	// Logger receives the gateway's request log. Default: discard.
	Logger *slog.Logger
	// NoAudit leaves the audit trail out. Default false: every request is
	// recorded as `firebreak serve` records it (hash chain, group commit,
	// sealed content keys and a signing key in a temporary folder).
	NoAudit bool
	// Postgres puts the store on a fresh schema of the PostgreSQL test
	// server (storetest.PostgresDSN) instead of a SQLite file. Default false.
	Postgres bool
}

// Stack is a running gateway and its upstream.
type Stack struct {
	// URL is the gateway's OpenAI base URL, with "/v1".
	URL string
	// Key is an API key of tenant "default" with Options.KeyLimits.
	Key string
	// LimitedKey is an API key of the same tenant allowed one request per
	// minute: its second request is refused with 429.
	LimitedKey string
	// Upstream is the fake model server behind Model.
	Upstream *fakeupstream.Server
}

// Start builds and starts a stack; everything is closed when tb ends.
func Start(tb testing.TB, opts Options) *Stack {
	tb.Helper()
	s := &Stack{}
	db := openStore(tb, opts.Postgres)
	accounts := startAccounts(tb, db)
	s.Key, s.LimitedKey = createKeys(tb, accounts, opts)
	policies, ladder := startPolicies(tb, db, opts.Policy)
	limiter, err := limit.New(limit.Options{Quota: accounts})
	if err != nil {
		tb.Fatalf("new limiter: %v", err)
	}
	tb.Cleanup(func() { _ = limiter.Close(context.Background()) })
	var recorder gateway.Recorder
	if !opts.NoAudit {
		recorder = startTrail(tb, db)
	}
	var router *upstream.Router
	gw, err := gateway.New(gateway.Options{
		Accounts: accounts, Limiter: limiter, Logger: opts.Logger,
		Sanctions: startSanctions(tb, db, ladder), Recorder: recorder,
		Identity: startIdentity(tb, db, accounts),
		Policies: policies,
		Router:   func() *upstream.Router { return router },
	})
	if err != nil {
		tb.Fatalf("new gateway: %v", err)
	}
	s.Upstream = fakeupstream.New(fakeupstream.Options{Script: opts.Script})
	tb.Cleanup(s.Upstream.Close)
	router = startRouter(tb, s.Upstream.URL, opts.Upstream, gw.Observer())
	var h http.Handler = gw
	if opts.Wrap != nil {
		h = opts.Wrap(h)
	}
	srv := httptest.NewServer(h)
	tb.Cleanup(srv.Close)
	s.URL = srv.URL + "/v1"
	return s
}

// openStore opens a SQLite store in a temporary folder, or a fresh
// PostgreSQL schema.
func openStore(tb testing.TB, postgres bool) *store.DB {
	tb.Helper()
	opts := store.Options{DataDir: tb.TempDir()}
	if postgres {
		opts = store.Options{DSN: storetest.PostgresDSN(tb)}
	}
	db, err := store.Open(context.Background(), opts)
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// startAccounts starts the account service on db.
func startAccounts(tb testing.TB, db *store.DB) *account.Service {
	tb.Helper()
	accounts, err := account.New(account.Options{DB: db})
	if err != nil {
		tb.Fatalf("new accounts: %v", err)
	}
	tb.Cleanup(func() { _ = accounts.Close() })
	return accounts
}

// fixedEngine is the one engine of every request.
type fixedEngine struct{ e *safety.Engine }

func (f fixedEngine) Engine(string, string, bool) *safety.Engine { return f.e }

// startPolicies returns what picks each request's engine, and the sanction
// ladder of the policy in force.
func startPolicies(tb testing.TB, db *store.DB, src *policy.Sources) (gateway.Policies, sanction.Ladder) {
	tb.Helper()
	if src != nil {
		e, err := policy.Compile(*src)
		if err != nil {
			tb.Fatalf("compile policy: %v", err)
		}
		return fixedEngine{e}, sanction.DefaultLadder()
	}
	svc, err := policy.New(context.Background(), policy.Options{DB: db})
	if err != nil {
		tb.Fatalf("policy service: %v", err)
	}
	tb.Cleanup(func() { _ = svc.Close() })
	ladder, err := svc.Current().Spec().Strikes.SanctionLadder()
	if err != nil {
		tb.Fatalf("sanction ladder: %v", err)
	}
	return svc, ladder
}

// newSecret returns a random server secret.
func newSecret() []byte {
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	return secret
}

// startIdentity starts real-name and minors' checks with the defaults of
// `firebreak serve` (no model requires a verified identity).
func startIdentity(tb testing.TB, db *store.DB, accounts *account.Service) *identity.Service {
	tb.Helper()
	svc, err := identity.New(identity.Options{DB: db, Users: accounts.Users, Secret: newSecret()})
	if err != nil {
		tb.Fatalf("identity: %v", err)
	}
	tb.Cleanup(func() { _ = svc.Close() })
	return svc
}

// startSanctions starts the sanction service on db with a random secret
// and ladder.
func startSanctions(tb testing.TB, db *store.DB, ladder sanction.Ladder) *sanction.Service {
	tb.Helper()
	s, err := sanction.New(context.Background(), sanction.Options{DB: db, Secret: newSecret(), Ladder: ladder})
	if err != nil {
		tb.Fatalf("new sanctions: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// startTrail opens the audit trail on db with a content key and a signing
// key generated in a temporary folder, as `firebreak serve` does on its
// first start.
func startTrail(tb testing.TB, db *store.DB) *audit.Trail {
	tb.Helper()
	dir := tb.TempDir()
	keyPath, signPath := filepath.Join(dir, "audit.keys"), filepath.Join(dir, "audit-signing.key")
	if _, err := audit.GenerateKey(keyPath); err != nil {
		tb.Fatalf("audit key: %v", err)
	}
	keys, err := audit.LoadKeyring(keyPath)
	if err != nil {
		tb.Fatalf("audit keyring: %v", err)
	}
	if _, err := audit.GenerateSigningKey(signPath); err != nil {
		tb.Fatalf("audit signing key: %v", err)
	}
	signer, err := audit.LoadSigningKey(signPath)
	if err != nil {
		tb.Fatalf("audit signing key: %v", err)
	}
	trail, err := audit.New(audit.Options{DB: db, Keys: keys, Signer: signer})
	if err != nil {
		tb.Fatalf("audit trail: %v", err)
	}
	tb.Cleanup(func() { _ = trail.Close() })
	return trail
}

// createKeys creates tenant "default", its key and its limited key.
func createKeys(tb testing.TB, accounts *account.Service, opts Options) (key, limited string) {
	tb.Helper()
	ctx := context.Background()
	tenant, err := accounts.Tenants.Create(ctx, account.Tenant{Name: "default", Limits: opts.UserLimits})
	if err != nil {
		tb.Fatalf("create tenant: %v", err)
	}
	_, key, err = accounts.Keys.Create(ctx, account.Key{TenantID: tenant.ID, Name: "test", Limits: opts.KeyLimits})
	if err != nil {
		tb.Fatalf("create key: %v", err)
	}
	_, limited, err = accounts.Keys.Create(ctx, account.Key{TenantID: tenant.ID, Name: "limited", Limits: account.Limits{RPM: 1}})
	if err != nil {
		tb.Fatalf("create limited key: %v", err)
	}
	return key, limited
}

// startRouter routes Model to the one upstream at baseURL.
func startRouter(tb testing.TB, baseURL string, tmpl upstream.Config, obs upstream.Observer) *upstream.Router {
	tb.Helper()
	tmpl.Name, tmpl.BaseURL = "fake", baseURL
	router, err := upstream.New(upstream.Options{
		Upstreams: []upstream.Config{tmpl}, Observer: obs,
		Models:  []upstream.Model{{Name: Model, Domain: "general", Targets: []upstream.Target{{Upstream: tmpl.Name, Model: UpstreamModel}}}},
		Routing: upstream.Routing{General: Model},
	})
	if err != nil {
		tb.Fatalf("new router: %v", err)
	}
	tb.Cleanup(func() { _ = router.Close() })
	return router
}
