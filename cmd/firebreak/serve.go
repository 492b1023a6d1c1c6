package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/admin"
	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/catalog"
	"github.com/firebreak/firebreak/config"
	"github.com/firebreak/firebreak/gateway"
	"github.com/firebreak/firebreak/limit"
	"github.com/firebreak/firebreak/notify"
	"github.com/firebreak/firebreak/sanction"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/upstream"
)

func newServeCmd() *cobra.Command {
	var configPath string
	var printConfig bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the gateway",
		Long: `Run the gateway: the OpenAI-compatible API on --listen, the admin API under
/admin/ (or on --admin-listen), /healthz, /readyz and /metrics.

Settings come from defaults, then the YAML file named by --config
(FIREBREAK_CONFIG), then FIREBREAK_* environment variables, then flags.`,
		Args: cobra.NoArgs,
	}
	cmd.Flags().StringVar(&configPath, "config", "", "YAML configuration file (env FIREBREAK_CONFIG)")
	cmd.Flags().BoolVar(&printConfig, "print-config", false, "print the effective configuration, secrets redacted, and exit")
	settings := config.Settings()
	for _, s := range settings {
		cmd.Flags().String(s.Flag, "", s.Usage+" (env "+s.Env+")")
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := loadConfig(cmd, configPath, settings)
		if err != nil {
			return err
		}
		if printConfig {
			out, err := cfg.Redacted().YAML()
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		}
		return serve(cmd.Context(), cfg, cmd.OutOrStdout(), cmd.ErrOrStderr())
	}
	return cmd
}

// loadConfig applies, in order: defaults, the YAML file, the environment,
// and the flags that were set.
func loadConfig(cmd *cobra.Command, path string, settings []config.Setting) (config.Config, error) {
	cfg := config.Default()
	if path == "" {
		path = os.Getenv("FIREBREAK_CONFIG")
	}
	if path != "" {
		if err := config.LoadFile(path, &cfg); err != nil {
			return cfg, err
		}
	}
	if err := cfg.ApplyEnv(os.LookupEnv); err != nil {
		return cfg, err
	}
	for _, s := range settings {
		if f := cmd.Flags().Lookup(s.Flag); f != nil && f.Changed {
			if err := s.Set(&cfg, f.Value.String()); err != nil {
				return cfg, fmt.Errorf("--%w", err)
			}
		}
	}
	return cfg, cfg.Validate()
}

func newLogger(cfg config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// serve builds every part, connects them and runs until ctx ends.
func serve(ctx context.Context, cfg config.Config, stdout, stderr io.Writer) error {
	log := newLogger(cfg.Log, stderr)
	db, err := store.Open(ctx, store.Options{DSN: cfg.Database, DataDir: cfg.Data, Logger: log})
	if err != nil {
		return err
	}
	defer db.Close()
	notifier, err := notify.Open(ctx, db, notify.Options{Logger: log})
	if err != nil {
		return err
	}
	defer notifier.Close()
	accounts, err := newAccounts(db, notifier, log)
	if err != nil {
		return err
	}
	defer accounts.Close()
	if err := bootstrap(ctx, accounts, stdout); err != nil {
		return err
	}
	limiter, err := newLimiter(cfg, accounts, log)
	if err != nil {
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = limiter.Close(ctx)
	}()
	engine, err := newEngine(cfg.Safety)
	if err != nil {
		return err
	}
	secretFile := cfg.SecretFile
	if secretFile == "" {
		secretFile = filepath.Join(cfg.Data, "server.secret")
	}
	secret, created, err := loadSecret(secretFile)
	if err != nil {
		return err
	}
	if created && cfg.Database != "" {
		log.Warn("generated a server secret for this replica only: replicas sharing a database must share it (FIREBREAK_SECRET)", "file", secretFile)
	}
	sanctions, err := sanction.New(ctx, sanction.Options{DB: db, Secret: secret, Notifier: notifier, Logger: log})
	if err != nil {
		return err
	}
	defer sanctions.Close()
	var trail *audit.Trail
	var complaints *audit.Complaints
	if !cfg.Audit.Disabled {
		var keys *audit.Keyring
		if trail, keys, err = openTrail(cfg, db, log); err != nil {
			return err
		}
		defer trail.Close()
		go trail.RunRetention(ctx, time.Hour, cfg.Audit.Keep)
		complaints, err = audit.NewComplaints(audit.ComplaintOptions{DB: db, Keys: keys, Deadline: cfg.Audit.ComplaintDeadline, Logger: log})
		if err != nil {
			return err
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var cat *catalog.Catalog
	var recorder gateway.Recorder
	if trail != nil {
		recorder = trail
	}
	gw, err := gateway.New(gateway.Options{
		Recorder: recorder,
		Accounts: accounts, Limiter: limiter, Engine: engine.Load, Sanctions: sanctions,
		ClientIPHeader: cfg.ClientIPHeader, Complaints: complaints,
		Router:     func() *upstream.Router { return cat.Router() },
		Review:     gateway.ReviewScope{History: cfg.Safety.History, System: cfg.Safety.System},
		UserHeader: cfg.Users.Header, MaxBodyBytes: cfg.HTTP.MaxBodyBytes,
		Logger: log, Registerer: reg,
	})
	if err != nil {
		return err
	}
	cat, err = catalog.New(ctx, catalog.Options{DB: db, Logger: log, Observer: gw.Observer(), Notifier: notifier,
		Static: catalog.Static{Upstreams: cfg.Upstreams, Models: cfg.Models, Routing: cfg.Routing}})
	if err != nil {
		return err
	}
	defer cat.Close()
	adminAPI, err := admin.New(admin.Options{Accounts: accounts, Catalog: cat, Sanctions: sanctions,
		Trail: trail, Complaints: complaints, Logger: log})
	if err != nil {
		return err
	}
	if cat.Demo() {
		fmt.Fprintln(stdout, "No upstream is configured: serving the built-in DEMO responder as model \"firebreak-demo\".")
		fmt.Fprintln(stdout, "Its answers are canned text, not a language model. Add upstreams in the config file or with `firebreak upstreams set`.")
	}
	fmt.Fprintf(stdout, "Safety engine %s loaded.\n", engine.Load().Version())

	mux := http.NewServeMux()
	mux.Handle("/v1/", gw)
	mux.Handle("/healthz", gateway.Healthz())
	mux.Handle("/readyz", gateway.Readyz(map[string]func(context.Context) error{"store": db.PingContext}))
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	servers := []*http.Server{newServer(cfg, mux, log)}
	if cfg.AdminListen == "" {
		mux.Handle("/admin/", adminAPI)
	} else {
		servers = append(servers, newServer(config.Config{Listen: cfg.AdminListen, HTTP: cfg.HTTP}, adminAPI, log))
	}
	return runServers(ctx, servers, cfg.HTTP.ShutdownTimeout, stdout, log)
}

func newServer(cfg config.Config, h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Addr:              cfg.Listen,
		Handler:           h,
		ReadHeaderTimeout: cfg.HTTP.ReadHeaderTimeout,
		ReadTimeout:       cfg.HTTP.ReadTimeout,
		IdleTimeout:       cfg.HTTP.IdleTimeout,
		// No WriteTimeout: streams may run for minutes. Upstream first-byte
		// and idle timeouts bound how long a response can stall.
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// runServers listens on every server's address, prints where, serves until
// ctx ends, then shuts down gracefully: no new connections, in-flight
// requests (streams included) get up to grace to finish.
func runServers(ctx context.Context, servers []*http.Server, grace time.Duration, stdout io.Writer, log *slog.Logger) error {
	errc := make(chan error, len(servers))
	for _, srv := range servers {
		ln, err := net.Listen("tcp", srv.Addr)
		if err != nil {
			return fmt.Errorf("listen: %w", err)
		}
		fmt.Fprintf(stdout, "Listening on http://%s\n", ln.Addr())
		go func() { errc <- srv.Serve(ln) }()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", grace.String())
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	var errs []error
	for _, srv := range servers {
		if err := srv.Shutdown(sctx); err != nil {
			errs = append(errs, err, srv.Close())
		}
	}
	return errors.Join(errs...)
}

func newLimiter(cfg config.Config, accounts *account.Service, log *slog.Logger) (*limit.Limiter, error) {
	opts := limit.Options{Quota: accounts, Logger: log}
	if cfg.Redis != "" {
		ropts, err := redis.ParseURL(cfg.Redis)
		if err != nil {
			return nil, fmt.Errorf("redis: %w", err)
		}
		opts.Redis = redis.NewClient(ropts)
	}
	return limit.New(opts)
}

// newAccounts opens the account service and connects its caches to the
// other replicas: a key revoked or a tenant changed on one replica is
// dropped from every replica's cache.
func newAccounts(db *store.DB, n *notify.Notifier, log *slog.Logger) (*account.Service, error) {
	const topic = "account.changed"
	accounts, err := account.New(account.Options{DB: db, Logger: log, OnChange: func(c account.Change) {
		go func() { // OnChange must not block
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := n.Publish(ctx, topic, string(c.Kind)+":"+c.ID); err != nil {
				log.Warn("tell other replicas of an account change", "err", err)
			}
		}()
	}})
	if err != nil {
		return nil, err
	}
	n.Subscribe(topic, func(payload string) {
		kind, id, _ := strings.Cut(payload, ":")
		accounts.Invalidate(account.Change{Kind: account.ChangeKind(kind), ID: id})
	})
	return accounts, nil
}

// bootstrap creates the first admin token and API key on an empty store and
// prints them once; they are stored only as hashes.
func bootstrap(ctx context.Context, accounts *account.Service, stdout io.Writer) error {
	res, err := accounts.Bootstrap(ctx)
	if err != nil {
		return err
	}
	if res.Created {
		fmt.Fprintf(stdout, `First start: created tenant "default", an API key and an admin token.
They are shown only now and stored only as hashes; keep them safe.

  API key:     %s
  Admin token: %s

`, res.FirstKey, res.AdminToken)
	}
	return nil
}
