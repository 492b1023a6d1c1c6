// Package replica builds one whole Firebreak replica from a config.Config:
// store, change notifier, services (accounts, limits, policy, sanctions,
// identity, audit, catalog), the gateway, the admin API and the HTTP
// handler that serves them. It is the only place where the parts are
// wired together: `firebreak serve`, the end-to-end tests, test/stack and
// the gateway's own tests all build through New, so a part added here is
// there everywhere.
//
// # Adding a part
//
//  1. Give the part's package a constructor that takes an options struct
//     (store, notifier, logger, the services it reads) and a Close method
//     if it holds goroutines or connections. The package must not import
//     replica, gateway, admin or openai (see the dependency test at the
//     repository root).
//  2. Add its settings to config.Config with documented defaults.
//  3. Add a field for it to Replica and an open step (func (r *Replica)
//     openX(ctx) error) in parts.go, placed in the steps list of New after
//     every part it needs. The step registers its Close with r.onClose, so
//     parts close in the reverse order of their opening.
//  4. Pass it to the surfaces that use it (gateway.Options, admin.Options)
//     in their open steps, and, when it serves HTTP of its own, mount it in
//     Handler.
//  5. If other replicas must hear of its changes, publish them with the
//     notifier inside the writing transaction and subscribe in the same
//     step (see docs/extending.md).
package replica

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/admin"
	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/catalog"
	"github.com/firebreak/firebreak/config"
	"github.com/firebreak/firebreak/console"
	"github.com/firebreak/firebreak/gateway"
	"github.com/firebreak/firebreak/identity"
	"github.com/firebreak/firebreak/kb"
	"github.com/firebreak/firebreak/limit"
	"github.com/firebreak/firebreak/notify"
	"github.com/firebreak/firebreak/policy"
	"github.com/firebreak/firebreak/review"
	"github.com/firebreak/firebreak/sanction"
	"github.com/firebreak/firebreak/staff"
	"github.com/firebreak/firebreak/store"
)

// Options are what a replica takes beside its config.Config. The zero
// value is what `firebreak serve` uses apart from its logger.
type Options struct {
	// Logger receives the replica's log. Default: discard.
	Logger *slog.Logger
	// SMS, when set, sends phone verification codes in place of the
	// sender that identity.sms_webhook configures (tests read the codes
	// from it). Default nil: the configured webhook, or the log.
	SMS identity.Sender
	// Now is the clock of the identity service (minors' daily counts and
	// quiet hours). Default time.Now.
	Now func() time.Time
}

// Replica is one running replica. Its fields are the parts, for the
// commands and tests that reach past the HTTP surface; they are set by New
// and must not be replaced.
type Replica struct {
	Config config.Config

	DB         *store.DB
	Notifier   *notify.Notifier
	Accounts   *account.Service
	Limiter    *limit.Limiter
	Policy     *policy.Service
	Sanctions  *sanction.Service
	Identity   *identity.Service
	Tokens     *identity.TokenVerifier // nil unless identity.token_keys is set
	Guard      gateway.GuardModel      // nil unless safety.guard.base_url is set
	Trail      *audit.Trail            // nil when audit.disabled
	Complaints *audit.Complaints       // nil when audit.disabled
	Review     *review.Queue           // the review desk; nil when audit.disabled
	Catalog    *catalog.Catalog
	Gateway    *gateway.Gateway
	Admin      *admin.API
	Staff      *staff.Service
	Console    *console.Console
	KB         *kb.Service
	// Registry holds the replica's Prometheus metrics, served on /metrics.
	Registry *prometheus.Registry
	// Health checks the dependencies for /readyz.
	Health *gateway.Health

	opts    Options
	log     *slog.Logger
	secret  []byte
	life    context.Context // ends on Close; background jobs run under it
	stop    context.CancelFunc
	closers []func()

	limitErrors prometheus.Counter // failed calls to the limits' backend

	auditKeys      *audit.Keyring               // seal retained content
	reviewRecorder *review.Recorder             // stands before the trail and feeds the desk
	desk           atomic.Pointer[review.Queue] // r.Review, for the policy service's hook
	id             string                       // this replica among those sharing a database
}

// New builds every part of a replica from cfg, which should have passed
// cfg.Validate. It creates no credentials: `firebreak serve` calls
// Accounts.Bootstrap once it listens. On error it closes what it built.
func New(ctx context.Context, cfg config.Config, opts Options) (*Replica, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Replica{Config: cfg, opts: opts, log: opts.Logger, id: replicaID()}
	r.life, r.stop = context.WithCancel(context.WithoutCancel(ctx))
	r.onClose(r.stop)
	for _, step := range []func(context.Context) error{
		r.openStore, r.openAccounts, r.openLimiter, r.openSecret, r.openStaff, r.openPolicy, r.openSanctions,
		r.openIdentity, r.openGuard, r.openAudit, r.openReview, r.openKB, r.openGateway, r.openCatalog, r.openHealth, r.openAdmin, r.openConsole,
	} {
		if err := step(ctx); err != nil {
			r.Close()
			return nil, err
		}
	}
	return r, nil
}

// Close closes the parts in the reverse order of their opening. It is safe
// to call more than once.
func (r *Replica) Close() {
	for i := len(r.closers) - 1; i >= 0; i-- {
		r.closers[i]()
	}
	r.closers = nil
}

func (r *Replica) onClose(f func()) { r.closers = append(r.closers, f) }

// Demo reports whether no upstream is configured, so the built-in demo
// responder answers as model "firebreak-demo".
func (r *Replica) Demo() bool { return r.Catalog.Demo() }

// NewLogger returns the logger `firebreak serve` writes to w, at cfg's
// level and in its format.
func NewLogger(cfg config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// replicaID names this process among the replicas of a deployment: the
// host name and a random suffix.
func replicaID() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return host + "-" + hex.EncodeToString(b[:])
}
