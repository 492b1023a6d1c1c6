package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/firebreak/firebreak/corpus"
)

func newCorpusCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "corpus",
		Short: "Clean training corpora and audit them by sampling",
	}
	cmd.AddCommand(newCorpusCleanCmd())
	return cmd
}

func newCorpusCleanCmd() *cobra.Command {
	var o corpus.RunOptions
	var cfgFile string
	var quiet bool
	var sortMB int
	cmd := &cobra.Command{
		Use:   "clean INPUT --out DIR",
		Short: "Clean a corpus: normalise, drop unsafe, scrub PII, filter, deduplicate, blacklist sources",
		Long: `Clean reads the shards under INPUT (JSONL or plain text, one item per line,
optionally .gz or .zst) and writes the cleaned shards under DIR with the
same relative paths, records.jsonl.zst (every item dropped or changed, with
the stage and rule), evidence/blacklist.jsonl (the harmful items of each
blacklisted source) and manifest.json (per-source statistics, licence and
collection records, the parameters of every stage).

The stages run in a fixed order, each optional in the configuration file:
normalise, unsafe, pii, quality, language, exact_dedup, near_dedup, then
the source blacklist. An interrupted run resumes where it stopped when the
same command is run again.`,
		Example: `  firebreak corpus clean shards/ --out cleaned/ --config clean.yaml
  firebreak corpus clean web.jsonl.zst --out cleaned/ --workers 8`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Output == "" {
				return errors.New("--out is required")
			}
			if cfgFile != "" {
				c, err := corpus.LoadConfig(cfgFile)
				if err != nil {
					return err
				}
				o.Config = c
			}
			o.Input = args[0]
			o.SortMemory = sortMB << 20
			if !quiet {
				o.Progress = cmd.ErrOrStderr()
			}
			m, err := corpus.Run(cmd.Context(), o)
			if errors.Is(err, context.Canceled) {
				return fmt.Errorf("interrupted: run the same command again to resume")
			}
			if err != nil {
				return err
			}
			return printManifestSummary(cmd.OutOrStdout(), m)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Output, "out", "", "output folder (required)")
	f.StringVar(&cfgFile, "config", "", "configuration file (YAML); default: every stage with its defaults")
	f.IntVar(&o.Workers, "workers", 0, "goroutines running stages (default: all cores)")
	f.IntVar(&sortMB, "sort-memory", 128, "MiB of keys the global steps sort in memory")
	f.BoolVar(&o.Restart, "restart", false, "discard the unfinished work of a different run in the output folder")
	f.BoolVar(&o.KeepWork, "keep-work", false, "keep the work folder (DIR/.work) after the run")
	f.BoolVar(&quiet, "quiet", false, "no progress on stderr")
	return cmd
}

func printManifestSummary(w io.Writer, m *corpus.Manifest) error {
	t := m.Totals
	fmt.Fprintf(w, "%d items read, %d kept (%d changed), %.1f MB in, %.1f MB kept, in %.1fs\n",
		t.Items, t.Kept, t.Changed, float64(t.Bytes)/1e6, float64(t.KeptB)/1e6, m.Seconds)
	for _, st := range m.Stages {
		if n := t.Dropped[st]; n > 0 {
			fmt.Fprintf(w, "  dropped by %-12s %d\n", st, n)
		}
	}
	for _, s := range m.Sources {
		mark := ""
		if s.Blacklisted {
			mark = "  BLACKLISTED"
		}
		fmt.Fprintf(w, "  source %-20s %7d items, %5.2f%% harmful, %7d kept%s\n", s.Name, s.Stats.Items, 100*s.HarmfulRate, s.Stats.Kept, mark)
	}
	_, err := fmt.Fprintf(w, "manifest: %s\n", corpus.ManifestName)
	return err
}
