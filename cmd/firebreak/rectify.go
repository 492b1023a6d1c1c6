package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/firebreak/firebreak/replica"
	"github.com/firebreak/firebreak/review"
)

// Files an export writes into its folder.
const (
	rectifySFT   = "sft.jsonl"
	rectifyPairs = "preference.jsonl"
	rectifyIndex = "index.jsonl"
	rectifyInfo  = "dataset_info.json"
)

func newRectifyCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "rectify", Short: "Training data from confirmed review findings (works on the database directly)"}
	cfgOf := offlineFlags(cmd)
	var f review.RectifyFilter
	var from, to, out, by string
	export := &cobra.Command{
		Use:   "export",
		Short: "Write confirmed cases as chat SFT JSONL (OpenAI format) and preference pairs (TRL, LLaMA-Factory)",
		Long: "Writes into --out: " + rectifySFT + " ({\"messages\": [...]} per line, the corrected answer last), " +
			rectifyIndex + " (each SFT line's audit record id, item, risk code, route), " + rectifyPairs +
			" ({\"prompt\", \"chosen\", \"rejected\"} with the audit record id) and " + rectifyInfo +
			" (LLaMA-Factory's dataset entries). The export is recorded, with --by as its author, on the audit trail.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" || by == "" {
				return errors.New("--out DIR and --by NAME are required")
			}
			var err error
			if f.From, err = parseDay(from); err != nil {
				return err
			}
			if f.To, err = parseDay(to); err != nil {
				return err
			}
			cfg, err := cfgOf()
			if err != nil {
				return err
			}
			db, err := openExisting(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer db.Close()
			trail, _, err := replica.OpenTrail(cfg, db, slog.New(slog.DiscardHandler))
			if err != nil {
				return err
			}
			defer trail.Close()
			q, err := review.New(review.Options{DB: db, Trail: trail})
			if err != nil {
				return err
			}
			if err := os.MkdirAll(out, 0o700); err != nil {
				return err
			}
			files := map[string]*os.File{}
			for _, name := range []string{rectifySFT, rectifyPairs, rectifyIndex} {
				fh, err := os.OpenFile(filepath.Join(out, name), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
				if err != nil {
					return err
				}
				defer fh.Close()
				files[name] = fh
			}
			x, err := q.Rectify(cmd.Context(), f, "cli:"+by,
				review.RectifyFiles{SFT: files[rectifySFT], Pairs: files[rectifyPairs], Index: files[rectifyIndex]})
			if err != nil {
				return err
			}
			for _, fh := range files {
				if err := fh.Close(); err != nil {
					return err
				}
			}
			info, err := review.DatasetInfo(rectifySFT, rectifyPairs)
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(out, rectifyInfo), info, 0o600); err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "export %s: %d confirmed cases, %d SFT conversations, %d preference pairs in %s (sha256 %s)\n",
				x.ID, x.Items, x.SFT, x.Pairs, out, x.Digest)
			return err
		},
	}
	export.Flags().StringVarP(&out, "out", "o", "", "folder to write the files into (created)")
	export.Flags().StringVar(&by, "by", "", "who exports (recorded with the export)")
	export.Flags().StringVar(&from, "from", "", "decided on or after (2026-01-31 or RFC 3339)")
	export.Flags().StringVar(&to, "to", "", "decided before (2026-02-28 or RFC 3339)")
	export.Flags().StringVar(&f.Code, "code", "", "only this risk code")
	export.Flags().StringVar(&f.Route, "route", "", "only exchanges with this public model (one set per vertical model)")
	export.Flags().StringVar(&f.System, "system", "", "system message that opens every SFT conversation")
	cmd.AddCommand(export)
	return cmd
}
