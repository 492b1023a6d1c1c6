package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/admin"
	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/catalog"
	"github.com/firebreak/firebreak/config"
	"github.com/firebreak/firebreak/gateway"
	"github.com/firebreak/firebreak/identity"
	"github.com/firebreak/firebreak/limit"
	"github.com/firebreak/firebreak/notify"
	"github.com/firebreak/firebreak/policy"
	"github.com/firebreak/firebreak/safety/guard"
	"github.com/firebreak/firebreak/sanction"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/upstream"
)

// node is one replica: its parts, built in dependency order and closed in
// the reverse order.
type node struct {
	cfg     config.Config
	log     *slog.Logger
	stdout  io.Writer
	closers []func()

	db         *store.DB
	notifier   *notify.Notifier
	accounts   *account.Service
	limiter    *limit.Limiter
	secret     []byte
	policy     *policy.Service
	sanctions  *sanction.Service
	identity   *identity.Service
	tokens     *identity.TokenVerifier
	guard      gateway.GuardModel
	trail      *audit.Trail
	complaints *audit.Complaints
	registry   *prometheus.Registry
	gateway    *gateway.Gateway
	catalog    *catalog.Catalog
	admin      *admin.API
}

// buildNode builds every part of a replica. On error it closes what it
// built.
func buildNode(ctx context.Context, cfg config.Config, stdout io.Writer, log *slog.Logger) (*node, error) {
	n := &node{cfg: cfg, log: log, stdout: stdout}
	for _, step := range []func(context.Context) error{
		n.openStore, n.openAccounts, n.openLimiter, n.openSecret, n.openPolicy, n.openSanctions,
		n.openIdentity, n.openGuard, n.openAudit, n.openGateway, n.openCatalog, n.openAdmin,
	} {
		if err := step(ctx); err != nil {
			n.close()
			return nil, err
		}
	}
	return n, nil
}

// close closes the parts in the reverse order of their opening.
func (n *node) close() {
	for i := len(n.closers) - 1; i >= 0; i-- {
		n.closers[i]()
	}
	n.closers = nil
}

func (n *node) onClose(f func()) { n.closers = append(n.closers, f) }

func (n *node) openStore(ctx context.Context) error {
	db, err := store.Open(ctx, store.Options{DSN: n.cfg.Database, DataDir: n.cfg.Data, WALLimit: n.cfg.WALLimit, Logger: n.log})
	if err != nil {
		return err
	}
	n.db = db
	n.onClose(func() { db.Close() })
	n.notifier, err = notify.Open(ctx, db, notify.Options{Logger: n.log})
	if err != nil {
		return err
	}
	n.onClose(func() { n.notifier.Close() })
	return nil
}

func (n *node) openAccounts(ctx context.Context) error {
	accounts, err := newAccounts(n.db, n.notifier, n.log)
	if err != nil {
		return err
	}
	n.accounts = accounts
	n.onClose(func() { accounts.Close() })
	return bootstrap(ctx, accounts, n.stdout)
}

func (n *node) openLimiter(context.Context) error {
	limiter, err := newLimiter(n.cfg, n.accounts, n.log)
	if err != nil {
		return err
	}
	n.limiter = limiter
	n.onClose(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = limiter.Close(ctx) // flushes token usage
	})
	return nil
}

// openSecret loads the server secret that keys the hashes of phone and
// identity numbers.
func (n *node) openSecret(context.Context) error {
	file := n.cfg.SecretFile
	if file == "" {
		file = filepath.Join(n.cfg.Data, "server.secret")
	}
	secret, created, err := loadSecret(file)
	if err != nil {
		return err
	}
	if created && n.cfg.Database != "" {
		n.log.Warn("generated a server secret for this replica only: replicas sharing a database must share it (FIREBREAK_SECRET)", "file", file)
	}
	n.secret = secret
	return nil
}

// openPolicy starts the policy service: the version in force from the
// database, or the configured bundle (else the built-in default) until
// one is published.
func (n *node) openPolicy(ctx context.Context) error {
	fallback := policy.Default()
	if dir := n.cfg.Safety.Bundle; dir != "" {
		b, err := policy.LoadDir(dir)
		if err != nil {
			return err
		}
		fallback = b
	}
	svc, err := policy.New(ctx, policy.Options{DB: n.db, Notifier: n.notifier, Fallback: fallback, Logger: n.log})
	if err != nil {
		return err
	}
	n.policy = svc
	n.onClose(func() { svc.Close() })
	return nil
}

// openSanctions starts graded sanctions with the ladder of the policy in
// force at start.
func (n *node) openSanctions(ctx context.Context) error {
	ladder, err := n.policy.Current().Spec().Strikes.SanctionLadder()
	if err != nil {
		return err
	}
	n.sanctions, err = sanction.New(ctx, sanction.Options{DB: n.db, Secret: n.secret, Ladder: ladder,
		Notifier: n.notifier, Logger: n.log})
	if err != nil {
		return err
	}
	n.onClose(func() { n.sanctions.Close() })
	return nil
}

func (n *node) openIdentity(context.Context) (err error) {
	n.identity, n.tokens, err = newIdentity(n.cfg.Identity, n.db, n.accounts.Users, n.secret, n.notifier, n.log)
	if err != nil {
		return err
	}
	n.onClose(func() { n.identity.Close() })
	return nil
}

// openGuard connects the guard model, when one is configured.
func (n *node) openGuard(context.Context) error {
	c := n.cfg.Safety.Guard
	if c.BaseURL == "" {
		return nil
	}
	g, err := guard.New(guard.Options{BaseURL: c.BaseURL, Model: c.Model, Format: guard.Format(c.Format),
		APIKey: os.Getenv(c.APIKeyEnv), Timeout: c.Timeout, OnError: guard.FailMode(c.OnError)})
	if err != nil {
		return fmt.Errorf("safety.guard: %w", err)
	}
	n.guard = g
	return nil
}

func (n *node) openAudit(ctx context.Context) error {
	if n.cfg.Audit.Disabled {
		return nil
	}
	trail, keys, err := openTrail(n.cfg, n.db, n.log)
	if err != nil {
		return err
	}
	n.trail = trail
	n.onClose(func() { trail.Close() })
	go trail.RunRetention(ctx, time.Hour, n.cfg.Audit.Keep)
	n.complaints, err = audit.NewComplaints(audit.ComplaintOptions{DB: n.db, Keys: keys,
		Deadline: n.cfg.Audit.ComplaintDeadline, Logger: n.log})
	return err
}

func (n *node) openGateway(context.Context) error {
	n.registry = prometheus.NewRegistry()
	n.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var recorder gateway.Recorder
	if n.trail != nil {
		recorder = n.trail
	}
	cfg := n.cfg
	gw, err := gateway.New(gateway.Options{
		Accounts: n.accounts, Limiter: n.limiter, Policies: n.policy, Sanctions: n.sanctions,
		Identity: n.identity, Tokens: n.tokens, Guard: n.guard, Recorder: recorder, Complaints: n.complaints,
		Router:         func() *upstream.Router { return n.catalog.Router() },
		Review:         gateway.ReviewScope{History: cfg.Safety.History, System: cfg.Safety.System},
		UserHeader:     cfg.Users.Header,
		ClientIPHeader: cfg.ClientIPHeader,
		MaxBodyBytes:   cfg.HTTP.MaxBodyBytes,
		MaxStream:      cfg.HTTP.MaxStream,
		Logger:         n.log,
		Registerer:     n.registry,
	})
	n.gateway = gw
	return err
}

func (n *node) openCatalog(ctx context.Context) error {
	cat, err := catalog.New(ctx, catalog.Options{DB: n.db, Logger: n.log, Observer: n.gateway.Observer(), Notifier: n.notifier,
		Static: catalog.Static{Upstreams: n.cfg.Upstreams, Models: n.cfg.Models, Routing: n.cfg.Routing}})
	if err != nil {
		return err
	}
	n.catalog = cat
	n.onClose(func() { cat.Close() })
	return nil
}

func (n *node) openAdmin(context.Context) (err error) {
	n.admin, err = admin.New(admin.Options{Accounts: n.accounts, Catalog: n.catalog, Sanctions: n.sanctions, Policy: n.policy,
		Trail: n.trail, Complaints: n.complaints, Logger: n.log})
	return err
}

// servers returns the HTTP servers: the API (with the admin API under
// /admin/ unless it has its own address), health, readiness and metrics.
func (n *node) servers() []*http.Server {
	mux := http.NewServeMux()
	mux.Handle("/v1/", n.gateway)
	mux.Handle("/healthz", gateway.Healthz())
	mux.Handle("/readyz", gateway.Readyz(map[string]func(context.Context) error{"store": n.db.PingContext}))
	mux.Handle("/metrics", promhttp.HandlerFor(n.registry, promhttp.HandlerOpts{}))
	servers := []*http.Server{newServer(n.cfg, mux, n.log)}
	if n.cfg.AdminListen == "" {
		mux.Handle("/admin/", n.admin)
	} else {
		servers = append(servers, newServer(config.Config{Listen: n.cfg.AdminListen, HTTP: n.cfg.HTTP}, n.admin, n.log))
	}
	return servers
}
