package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/firebreak/firebreak/config"
	"github.com/firebreak/firebreak/replica"
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
	settings, def := config.Settings(), config.Default()
	for _, s := range settings {
		cmd.Flags().String(s.Flag, s.Get(&def), s.Usage+" (env "+s.Env+")")
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

// serve builds a replica from cfg and runs it until ctx ends. The first
// admin token and API key of an empty store are created and printed only
// once every listener is open, so a start that fails (bad config, port in
// use) does not use them up: the next start prints them instead.
func serve(ctx context.Context, cfg config.Config, stdout, stderr io.Writer) error {
	log := replica.NewLogger(cfg.Log, stderr)
	r, err := replica.New(ctx, cfg, replica.Options{Logger: log})
	if err != nil {
		return err
	}
	defer r.Close()
	boundMemory(cfg.HTTP.AnswerBudget, log)
	return r.Run(ctx, func(addrs []net.Addr) error {
		if r.Demo() {
			fmt.Fprintln(stdout, "No upstream is configured: serving the built-in DEMO responder as model \"firebreak-demo\".")
			fmt.Fprintln(stdout, "Its answers are canned text, not a language model. Add upstreams in the config file or with `firebreak upstreams set`.")
		}
		fmt.Fprintf(stdout, "Policy %s in force.\n", r.Policy.Load().Version())
		b, err := r.Accounts.Bootstrap(ctx)
		if err != nil {
			return err
		}
		if b.Created {
			fmt.Fprintf(stdout, `First start: created tenant "default", an API key and a bootstrap admin token.
They are shown only now and stored only as hashes; keep them safe.

  API key:     %s
  Admin token: %s

The admin token only creates staff admins; create the first one, then log in
at /console/ or use its personal token with the CLI:

  FIREBREAK_ADMIN_TOKEN=<admin token> firebreak staff create --name NAME --role admin --token cli

`, b.FirstKey, b.AdminToken)
		}
		for _, a := range addrs {
			fmt.Fprintf(stdout, "Listening on http://%s\n", a)
		}
		return nil
	})
}

// boundMemory sets the Go runtime's soft memory limit to the node's
// footprint once started plus the answer budget, unless GOMEMLIMIT says
// otherwise or the budget is unbounded. The budget caps what answers in
// flight hold; the limit keeps the garbage they leave from taking the
// process past it (the collector runs sooner instead).
func boundMemory(budget int64, log *slog.Logger) {
	if budget <= 0 || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	limit := int64(ms.Sys-ms.HeapReleased) + budget
	debug.SetMemoryLimit(limit)
	log.Info("memory limit", slog.Int64("limit_bytes", limit), slog.Int64("answer_budget_bytes", budget))
}
