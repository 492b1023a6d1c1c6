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
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/config"
	"github.com/firebreak/firebreak/limit"
	"github.com/firebreak/firebreak/notify"
	"github.com/firebreak/firebreak/store"
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
	n, err := buildNode(ctx, cfg, stdout, newLogger(cfg.Log, stderr))
	if err != nil {
		return err
	}
	defer n.close()
	if n.catalog.Demo() {
		fmt.Fprintln(stdout, "No upstream is configured: serving the built-in DEMO responder as model \"firebreak-demo\".")
		fmt.Fprintln(stdout, "Its answers are canned text, not a language model. Add upstreams in the config file or with `firebreak upstreams set`.")
	}
	fmt.Fprintf(stdout, "Policy %s in force.\n", n.policy.Load().Version())
	return runServers(ctx, n.servers(), cfg.HTTP.ShutdownTimeout, stdout, n.log)
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
