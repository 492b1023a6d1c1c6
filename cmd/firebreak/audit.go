package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/config"
	"github.com/firebreak/firebreak/replica"
	"github.com/firebreak/firebreak/store"
)

// offlineFlags adds the flags that locate a store to a command that works
// on the database directly (no server needed).
func offlineFlags(cmd *cobra.Command) func() (config.Config, error) {
	var path string
	cmd.PersistentFlags().StringVar(&path, "config", "", "YAML configuration file (env FIREBREAK_CONFIG)")
	def := config.Default()
	for _, name := range []string{"data", "database"} {
		for _, s := range config.Settings() {
			if s.Flag == name {
				cmd.PersistentFlags().String(s.Flag, s.Get(&def), s.Usage+" (env "+s.Env+")")
			}
		}
	}
	return func() (config.Config, error) {
		return loadConfig(cmd, path, config.Settings())
	}
}

func newAuditCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Verify and export the audit trail (works on the database directly)"}
	cfgOf := offlineFlags(cmd)
	open := func(ctx context.Context) (*store.DB, config.Config, error) {
		cfg, err := cfgOf()
		if err != nil {
			return nil, cfg, err
		}
		db, err := openExisting(ctx, cfg)
		return db, cfg, err
	}
	var pubFiles, cpFiles []string
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check the hash chain and signed checkpoints; name the first bad record",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, cfg, err := open(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			pubs, err := verifyKeys(cfg, pubFiles)
			if err != nil {
				return err
			}
			published, err := readPublished(cpFiles)
			if err != nil {
				return err
			}
			rep, err := audit.VerifyPublished(cmd.Context(), db, published, pubs...)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			if err := enc.Encode(rep); err != nil {
				return err
			}
			if !rep.OK {
				return fmt.Errorf("audit trail does not verify: %d problem(s), first at seq %d: %s",
					len(rep.Problems), rep.Problems[0].Seq, rep.Problems[0].Kind)
			}
			return nil
		},
	}
	verify.Flags().StringArrayVar(&pubFiles, "public-key", nil, "file with a checkpoint public key (repeatable; default: the signing key's)")
	verify.Flags().StringArrayVar(&cpFiles, "checkpoints", nil, "file of checkpoints published outside the database (audit.checkpoint_file; repeatable): the chain must match them too")
	var q audit.Query
	var from, to, format string
	export := &cobra.Command{
		Use:   "export",
		Short: "Write matching records as JSONL or CSV, for a regulator",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, cfg, err := open(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			if q.From, err = parseDay(from); err != nil {
				return err
			}
			if q.To, err = parseDay(to); err != nil {
				return err
			}
			trail, _, err := replica.OpenTrail(cfg, db, slog.New(slog.DiscardHandler))
			if err != nil {
				return err
			}
			defer trail.Close()
			return trail.Export(cmd.Context(), cmd.OutOrStdout(), q, format)
		},
	}
	export.Flags().StringVar(&from, "from", "", "first day or time (2026-01-31 or RFC 3339)")
	export.Flags().StringVar(&to, "to", "", "end, exclusive (2026-02-28 or RFC 3339)")
	export.Flags().StringVar(&q.TenantID, "tenant-id", "", "only this tenant id")
	export.Flags().StringVar(&q.EndUser, "user-id", "", "only this end user id")
	export.Flags().StringVar(&q.Decision, "decision", "", "only records with this action in either direction")
	export.Flags().StringVar(&q.Code, "code", "", "only records with this risk code")
	export.Flags().StringVar(&q.Outcome, "outcome", "", "only records with this outcome")
	export.Flags().StringVar(&format, "format", "jsonl", "jsonl or csv")
	cmd.AddCommand(verify, export)
	return cmd
}

// verifyKeys returns the public keys to check checkpoints with: the ones
// given, or the local signing key's.
func verifyKeys(cfg config.Config, files []string) ([]ed25519.PublicKey, error) {
	if len(files) == 0 {
		_, signPath := replica.AuditFiles(cfg)
		priv, err := audit.LoadSigningKey(signPath)
		if err != nil {
			return nil, fmt.Errorf("%w (pass --public-key to verify with a published key)", err)
		}
		return []ed25519.PublicKey{priv.Public().(ed25519.PublicKey)}, nil
	}
	var pubs []ed25519.PublicKey
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		pub, err := audit.ParsePublicKey(string(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		pubs = append(pubs, pub)
	}
	return pubs, nil
}

func parseDay(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339, s)
}

// readPublished reads the checkpoint files given to audit verify.
func readPublished(paths []string) ([]audit.Checkpoint, error) {
	var out []audit.Checkpoint
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		cps, err := audit.ReadCheckpoints(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		out = append(out, cps...)
	}
	return out, nil
}
