package replica

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/admin"
	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/catalog"
	"github.com/firebreak/firebreak/config"
	"github.com/firebreak/firebreak/console"
	"github.com/firebreak/firebreak/gateway"
	"github.com/firebreak/firebreak/kb/judge"
	"github.com/firebreak/firebreak/label"
	"github.com/firebreak/firebreak/limit"
	"github.com/firebreak/firebreak/notify"
	"github.com/firebreak/firebreak/policy"
	"github.com/firebreak/firebreak/review"
	"github.com/firebreak/firebreak/safety/guard"
	"github.com/firebreak/firebreak/sanction"
	"github.com/firebreak/firebreak/staff"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/upstream"
)

func (r *Replica) openStore(ctx context.Context) error {
	db, err := store.Open(ctx, store.Options{DSN: r.Config.Database, DataDir: r.Config.Data, WALLimit: r.Config.WALLimit, Logger: r.log})
	if err != nil {
		return err
	}
	r.DB = db
	r.onClose(func() { db.Close() })
	r.Notifier, err = notify.Open(ctx, db, notify.Options{Logger: r.log})
	if err != nil {
		return err
	}
	r.onClose(func() { r.Notifier.Close() })
	return nil
}

// openAccounts opens the account service; its changes reach every
// replica's caches through the change bus.
func (r *Replica) openAccounts(context.Context) error {
	accounts, err := account.New(account.Options{DB: r.DB, Logger: r.log, Bus: r.Notifier})
	if err != nil {
		return err
	}
	r.Accounts = accounts
	r.onClose(func() { accounts.Close() })
	return nil
}

func (r *Replica) openLimiter(context.Context) error {
	r.limitErrors = newLimitErrors()
	opts := limit.Options{Quota: r.Accounts, Logger: r.log, FailClosed: r.Config.RedisOnError == "closed",
		OnBackendError: func(error) { r.limitErrors.Inc() }, SlotTTL: slotTTL(r.Config.HTTP)}
	if r.Config.Redis != "" {
		ropts, err := redis.ParseURL(r.Config.Redis)
		if err != nil {
			return fmt.Errorf("redis: %w", err)
		}
		opts.Redis = redis.NewClient(ropts)
	}
	limiter, err := limit.New(opts)
	if err != nil {
		return err
	}
	r.Limiter = limiter
	r.onClose(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = limiter.Close(ctx) // flushes token usage
	})
	return nil
}

// slotTTL is how long a concurrency slot is held when its request never
// ends: longer than the longest request the server lets run (a streamed
// or whole answer, and the body read before it), so that a slot never
// lapses under a request still running, which would admit one more than
// the limit; at least the limiter's default of 15 minutes.
func slotTTL(h config.HTTP) time.Duration {
	return max(15*time.Minute, h.ReadTimeout+max(h.MaxStream, h.WriteTimeout)+time.Minute)
}

// openSecret loads the server secret that keys the hashes of phone and
// identity numbers.
func (r *Replica) openSecret(context.Context) error {
	file := r.Config.SecretFile
	if file == "" {
		file = filepath.Join(r.Config.Data, "server.secret")
	}
	secret, created, err := loadSecret(file)
	if err != nil {
		return err
	}
	if created && r.Config.Database != "" {
		r.log.Warn("generated a server secret for this replica only: replicas sharing a database must share it (FIREBREAK_SECRET)", "file", file)
	}
	r.secret = secret
	return nil
}

// openStaff opens the staff accounts that log in to the console and own
// personal admin tokens.
func (r *Replica) openStaff(context.Context) (err error) {
	c := r.Config.Staff
	opts := staff.Options{DB: r.DB, Secret: r.secret, MaxFailures: c.MaxFailures, Lockout: c.Lockout,
		SessionIdle: c.SessionIdle, SessionMax: c.SessionMax}
	for _, role := range c.RequireTOTP {
		opts.RequireTOTP = append(opts.RequireTOTP, staff.Role(role))
	}
	if r.Staff, err = staff.New(opts); err != nil {
		return fmt.Errorf("staff: %w", err)
	}
	go r.purgeSessions(time.Hour)
	return nil
}

// endedSessionsKept is how long ended staff sessions (expired or revoked)
// stay listed in the console before the purge deletes them.
const endedSessionsKept = 30 * 24 * time.Hour

// purgeSessions deletes the staff sessions that ended more than
// endedSessionsKept ago: at start, then every period, until Close.
func (r *Replica) purgeSessions(every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		n, err := r.Staff.PurgeSessions(r.life, time.Now().Add(-endedSessionsKept))
		switch {
		case err != nil && r.life.Err() == nil:
			r.log.Error("staff session purge failed", "err", err)
		case n > 0:
			r.log.Info("ended staff sessions purged", "purged", n)
		}
		select {
		case <-r.life.Done():
			return
		case <-tick.C:
		}
	}
}

// openPolicy starts the policy service: the version in force from the
// database, or the configured bundle (else the built-in default) until
// one is published.
func (r *Replica) openPolicy(ctx context.Context) error {
	fallback := policy.Default()
	if dir := r.Config.Safety.Bundle; dir != "" {
		b, err := policy.LoadDir(dir)
		if err != nil {
			return err
		}
		fallback = b
	}
	svc, err := policy.New(ctx, policy.Options{DB: r.DB, Bus: r.Notifier, Fallback: fallback, Logger: r.log,
		Installed: r.enforced})
	if err != nil {
		return err
	}
	r.Policy = svc
	r.onClose(func() { svc.Close() })
	return nil
}

// openSanctions starts graded sanctions. Their strike codes and ladder
// are those of the policy in force, read for every violation, so a
// publish or rollback on any replica changes them here too.
func (r *Replica) openSanctions(ctx context.Context) (err error) {
	r.Sanctions, err = sanction.New(ctx, sanction.Options{DB: r.DB, Secret: r.secret, Rules: r.Policy,
		Users: r.Accounts.Users, Bus: r.Notifier, Logger: r.log})
	if err != nil {
		return err
	}
	r.onClose(func() { r.Sanctions.Close() })
	go r.Sanctions.RunRetention(r.life, time.Hour, r.Config.Audit.KeepViolations)
	return nil
}

// judge connects the judge model of the support check, when one is
// configured; nil otherwise.
func (r *Replica) judge() (gateway.SupportJudge, error) {
	c := r.Config.Grounding.Judge
	if c.BaseURL == "" {
		return nil, nil
	}
	j, err := judge.New(judge.Options{BaseURL: c.BaseURL, Model: c.Model, APIKey: os.Getenv(c.APIKeyEnv), Timeout: c.Timeout})
	if err != nil {
		return nil, fmt.Errorf("grounding.judge: %w", err)
	}
	return j, nil
}

// openGuard connects the guard model, when one is configured.
func (r *Replica) openGuard(context.Context) error {
	c := r.Config.Safety.Guard
	if c.BaseURL == "" {
		return nil
	}
	g, err := guard.New(guard.Options{BaseURL: c.BaseURL, Model: c.Model, Format: guard.Format(c.Format),
		APIKey: os.Getenv(c.APIKeyEnv), Timeout: c.Timeout, OnError: guard.FailMode(c.OnError), Categories: guardCategories(c.Categories)})
	if err != nil {
		return fmt.Errorf("safety.guard: %w", err)
	}
	r.Guard = g
	return nil
}

func guardCategories(in map[string]config.GuardCategory) map[string]guard.CategoryConfig {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]guard.CategoryConfig, len(in))
	for name, c := range in {
		out[name] = guard.CategoryConfig{Code: c.Code, Action: c.Action, OnError: guard.FailMode(c.OnError)}
	}
	return out
}

func (r *Replica) openAudit(context.Context) error {
	if r.Config.Audit.Disabled {
		return nil
	}
	trail, keys, err := OpenTrail(r.Config, r.DB, r.log)
	if err != nil {
		return err
	}
	r.Trail, r.auditKeys = trail, keys
	r.onClose(func() { trail.Close() })
	go trail.RunRetention(r.life, time.Hour, r.Config.Audit.Keep)
	return nil
}

// openReview builds the review desk and the complaint intake that feeds
// it, and puts the desk between the gateway and the audit trail: review
// decisions and sampled exchanges enter its queue. Without an audit trail
// there is neither (the desk reads exchanges from the trail).
func (r *Replica) openReview(context.Context) error {
	if r.Trail == nil {
		return nil
	}
	c := r.Config.Review
	opts := review.Options{DB: r.DB, Trail: r.Trail, Sanctions: r.Sanctions, Keys: r.auditKeys,
		Complaints: lateComplaints{&r.Complaints}, Lease: c.Lease, DualShare: c.DualShare, Logger: r.log}
	if len(c.SLA) > 0 {
		opts.SLA = map[review.Source]time.Duration{}
		for s, d := range c.SLA {
			opts.SLA[review.Source(s)] = d
		}
	}
	q, err := review.New(opts)
	if err != nil {
		return fmt.Errorf("review: %w", err)
	}
	r.Review = q
	r.desk.Store(q)
	if st := r.Policy.Status(); st.Seq > 0 { // a published version was put in force before the desk opened
		r.enforced(st.Version, st.LoadedAt)
	}
	if r.reviewRecorder, err = q.Recorder(r.Trail, review.Sampling{Rate: c.SampleRate, Tenants: c.TenantSampleRates},
		r.auditKeys != nil); err != nil {
		return fmt.Errorf("review: %w", err)
	}
	r.Complaints, err = audit.NewComplaints(audit.ComplaintOptions{DB: r.DB, Keys: r.auditKeys, Queue: q,
		Deadline: r.Config.Audit.ComplaintDeadline, Logger: r.log})
	return err
}

// enforced tells the review desk that this replica put a policy version
// in force, for the time from a finding to its fix on every replica.
func (r *Replica) enforced(version string, at time.Time) {
	q := r.desk.Load()
	if q == nil {
		return
	}
	ctx, cancel := context.WithTimeout(r.life, 10*time.Second)
	defer cancel()
	if err := q.Enforced(ctx, r.id, version, at); err != nil && r.life.Err() == nil {
		r.log.Warn("policy enforcement not recorded for the review desk", "version", version, "err", err)
	}
}

// lateComplaints answers through the complaint intake built after the
// desk (each needs the other).
type lateComplaints struct{ c **audit.Complaints }

func (l lateComplaints) Answer(ctx context.Context, id, answer, by string) (*audit.Complaint, error) {
	return (*l.c).Answer(ctx, id, answer, by)
}

func (r *Replica) openGateway(context.Context) error {
	r.Registry = prometheus.NewRegistry()
	r.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var recorder gateway.Recorder
	switch {
	case r.reviewRecorder != nil:
		recorder = r.reviewRecorder
	case r.Trail != nil:
		recorder = r.Trail
	}
	cfg := r.Config
	signer, err := SigningKey(cfg, r.log) // labels are signed with the audit signing key
	if err != nil {
		return err
	}
	var appeals gateway.Appeals
	if r.Review != nil {
		appeals = r.Review
	}
	tracer, err := r.openTracer()
	if err != nil {
		return err
	}
	supportJudge, err := r.judge()
	if err != nil {
		return err
	}
	gw, err := gateway.New(gateway.Options{Appeals: appeals, Judge: supportJudge,
		Labels: r.Policy, LabelSigner: label.NewSigner(signer),
		Accounts: r.Accounts, Limiter: r.Limiter, Policies: r.Policy, Sanctions: r.Sanctions,
		Identity: r.Identity, Tokens: r.Tokens, Guard: r.Guard, Recorder: recorder, Complaints: r.Complaints, Grounding: r.KB,
		Router:         func() *upstream.Router { return r.Catalog.Router() },
		UserHeader:     cfg.Users.Header,
		ClientIPHeader: cfg.ClientIPHeader,
		MaxBodyBytes:   cfg.HTTP.MaxBodyBytes,
		MaxStream:      cfg.HTTP.MaxStream,
		WriteTimeout:   cfg.HTTP.WriteTimeout,
		MaxAnswerBytes: cfg.HTTP.MaxAnswerBytes,
		AnswerBudget:   cfg.HTTP.AnswerBudget,
		BudgetWait:     cfg.HTTP.BudgetWait,
		Logger:         r.log,
		Registerer:     r.Registry,
		Tracer:         tracer,
	})
	r.Gateway = gw
	return err
}

func (r *Replica) openCatalog(ctx context.Context) error {
	cat, err := catalog.New(ctx, catalog.Options{DB: r.DB, Logger: r.log, Observer: r.Gateway.Observer(), Bus: r.Notifier,
		Static: catalog.Static{Upstreams: r.Config.Upstreams, Models: r.Config.Models, Routing: r.Config.Routing}})
	if err != nil {
		return err
	}
	r.Catalog = cat
	r.onClose(func() { cat.Close() })
	return nil
}

func (r *Replica) openAdmin(context.Context) (err error) {
	r.Admin, err = admin.New(admin.Options{Accounts: r.Accounts, Catalog: r.Catalog, Staff: r.Staff, Sanctions: r.Sanctions, Policy: r.Policy,
		Trail: r.Trail, Complaints: r.Complaints, KB: r.KB, Review: r.Review, Identity: r.Identity, Profiling: r.Config.AdminProfiling, Logger: r.log, Registerer: r.Registry})
	return err
}

// openConsole builds the web console; it verifies the audit chain with
// the signing key's public half, so checkpoint signatures are checked.
func (r *Replica) openConsole(context.Context) (err error) {
	opts := console.Options{Staff: r.Staff, Accounts: r.Accounts, Catalog: r.Catalog, Sanctions: r.Sanctions,
		Policy: r.Policy, Trail: r.Trail, Complaints: r.Complaints, Review: r.Review, KB: r.KB, Identity: r.Identity, DB: r.DB, Logger: r.log,
		ClientIPHeader: r.Config.ClientIPHeader}
	if r.Trail != nil {
		signer, err := SigningKey(r.Config, r.log)
		if err != nil {
			return err
		}
		pub, db := signer.Public().(ed25519.PublicKey), r.DB
		opts.Verify = func(ctx context.Context) (audit.Report, error) { return audit.Verify(ctx, db, pub) }
	}
	r.Console, err = console.New(opts)
	return err
}
