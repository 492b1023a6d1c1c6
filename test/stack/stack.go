// Package stack starts a whole Firebreak replica in process — built by
// replica.New from a config.Config as `firebreak serve` builds it: a real
// store, tenant and API keys, limiter, sanctions, identity checks, policy
// service, 1+N router and audit trail — in front of a scripted fake
// upstream, all on 127.0.0.1. The SDK compatibility tests and the latency
// benchmark under test/ run against it, so they measure and exercise the
// same pipeline users run.
package stack

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/config"
	"github.com/firebreak/firebreak/internal/fakeupstream"
	"github.com/firebreak/firebreak/replica"
	"github.com/firebreak/firebreak/store/storetest"
)

// Model is the public model the stack serves; "auto" and requests without a
// model reach it too.
const Model = "general"

// UpstreamModel is the name the fake upstream sees for Model.
const UpstreamModel = "fake-model"

// Options configure a Stack. The zero value is a replica with the default
// configuration (the built-in policy bundle: the starter lexicon and the
// PII detectors; the audit trail on), no limits on Key, in front of an
// upstream that answers fakeupstream.DefaultText.
type Options struct {
	// Script decides the upstream's reply to each request. Default: the
	// fake upstream's default answer.
	Script func(fakeupstream.Request) fakeupstream.Reply
	// KeyLimits are the limits of Stack.Key. Default: none.
	KeyLimits account.Limits
	// UserLimits are the tenant's limits for each end user. Default: none.
	UserLimits account.Limits
	// Wrap, when set, wraps the replica's handler, e.g. to label profiles.
	Wrap func(http.Handler) http.Handler
	// Logger receives the replica's log. Default: discard.
	Logger *slog.Logger
	// NoAudit leaves the audit trail out (config audit.disabled). Default
	// false: every request is recorded as `firebreak serve` records it.
	NoAudit bool
	// Postgres puts the store on a fresh schema of the PostgreSQL test
	// server (storetest.PostgresDSN) instead of a SQLite file. Default false.
	Postgres bool
}

// Stack is a running replica and its upstream.
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
	// Replica is the replica itself, for tests that reach its parts.
	Replica *replica.Replica
}

// Start builds and starts a stack; everything is closed when tb ends.
func Start(tb testing.TB, opts Options) *Stack {
	tb.Helper()
	s := &Stack{Upstream: fakeupstream.New(fakeupstream.Options{Script: opts.Script})}
	tb.Cleanup(s.Upstream.Close)
	cfg := config.Default()
	cfg.Data = tb.TempDir()
	if opts.Postgres {
		cfg.Database = storetest.PostgresDSN(tb)
	}
	cfg.Audit.Disabled = opts.NoAudit
	cfg.Upstreams = []config.Upstream{{Name: "fake", BaseURL: s.Upstream.URL}}
	cfg.Models = []config.Model{{Name: Model, Domain: "general", Targets: []config.Target{{Upstream: "fake", Model: UpstreamModel}}}}
	cfg.Routing = config.Routing{General: Model}
	r, err := replica.New(context.Background(), cfg, replica.Options{Logger: opts.Logger})
	if err != nil {
		tb.Fatalf("new replica: %v", err)
	}
	tb.Cleanup(r.Close)
	s.Replica = r
	s.Key, s.LimitedKey = createKeys(tb, r.Accounts, opts)
	var h http.Handler = r.Handler()
	if opts.Wrap != nil {
		h = opts.Wrap(h)
	}
	srv := httptest.NewServer(h)
	tb.Cleanup(srv.Close)
	s.URL = srv.URL + "/v1"
	return s
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
