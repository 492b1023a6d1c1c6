package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/firebreak/firebreak/corpus"
	"github.com/firebreak/firebreak/eval/grade"
)

func newCorpusCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "corpus",
		Short: "Clean training corpora and audit them by sampling",
	}
	cmd.AddCommand(newCorpusCleanCmd(), newCorpusSampleCmd(), newCorpusReportCmd())
	return cmd
}

func newCorpusSampleCmd() *cobra.Command {
	var o corpus.SampleOptions
	var policyDir, desk string
	var client func() (*adminClient, error)
	cmd := &cobra.Command{
		Use:   "sample CLEANED --out DIR",
		Short: "Draw the standard's manual and technical samples of a cleaned corpus",
		Long: `Sample draws, from a folder written by corpus clean, the manual sample
(4,000 items by default, stratified by source in proportion to each
source's kept items) into DIR/grading.jsonl for people to grade — set each
line's "verdict" to pass or fail — and the technical sample (10% of the
corpus by default, from every source), which it grades at once with the
keyword check (the policy bundle's engine) and the classifier (the guard
model, when the cleaning configuration names one). Then run corpus report.

With --desk SET the manual sample also goes to the review desk of the
server (--server, --admin-token) as the grading set SET: reviewers grade
each item there (no violation passes it, violation fails it), and corpus
report --desk SET reads their grades. Running it again adds nothing twice.`,
		Example: `  firebreak corpus sample cleaned/ --out audit/
  firebreak corpus sample cleaned/ --out audit/ --manual 5000 --technical 0.12 --seed 7
  firebreak corpus sample cleaned/ --out audit/ --desk corpus-2026-12`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Out == "" {
				return errors.New("--out is required")
			}
			if o.Manual < 0 || o.Technical < 0 || o.Technical > 1 {
				return errors.New("--manual must be positive and --technical a share between 0 and 1")
			}
			o.Corpus = args[0]
			if policyDir != "" {
				o.Unsafe = &corpus.UnsafeConfig{Policy: policyDir}
			}
			info, err := corpus.Sample(cmd.Context(), o)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "manual sample: %d items to grade in %s\ntechnical sample: %d items (%.1f%%), keyword check %d pass, %d fail\n",
				info.Manual, filepath.Join(o.Out, corpus.GradingName), info.Technical,
				100*float64(info.Technical)/float64(max(info.CorpusItems, 1)), info.Keyword.Pass, info.Keyword.Fail)
			if desk == "" {
				return nil
			}
			c, err := client()
			if err != nil {
				return err
			}
			return sendGradingSet(cmd.Context(), c, desk, filepath.Join(o.Out, corpus.GradingName), nil)
		},
	}
	client = adminFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&desk, "desk", "", "also send the manual sample to the server's review desk as this grading set")
	f.StringVar(&o.Out, "out", "", "sample folder (required)")
	f.IntVar(&o.Manual, "manual", corpus.DefaultManual, "items in the manual sample")
	f.Float64Var(&o.Technical, "technical", corpus.DefaultTechnical, "share of the corpus in the technical sample")
	f.Uint64Var(&o.Seed, "seed", 1, "seed of the draw")
	f.StringVar(&policyDir, "policy", "", "policy bundle of the keyword check (default: the cleaning run's)")
	return cmd
}

func newCorpusReportCmd() *cobra.Command {
	var gradeFiles []string
	var desk string
	var client func() (*adminClient, error)
	cmd := &cobra.Command{
		Use:   "report SAMPLE",
		Short: "Judge a graded sample against the standard's thresholds (report.html, .md, .json)",
		Long: `Report reads a sample folder and the grades of its manual sample, and writes
report.json, report.md and report.html into it: 符合, 不符合 or 待定 for each
threshold of the training-data chapter (manual sample ≥ 4,000 items
qualified at ≥ 96%, technical sample ≥ 10% qualified at ≥ 98% by keyword
check and classifier, no source above 5% harmful), with the evidence.
Rates are judged on their Wilson 95% interval; ungraded items count
against the claim. The grades come from grading files, or with --desk SET
from the grading set SET on the server's review desk.`,
		Example: `  firebreak corpus report audit/
  firebreak corpus report audit/ --grades alice.jsonl --grades bob.jsonl
  firebreak corpus report audit/ --desk corpus-2026-12`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var grades grade.HumanGrades = grade.GradingFile(gradeFiles)
			switch {
			case desk != "" && len(gradeFiles) > 0:
				return errors.New("--desk and --grades: the grades come from one place")
			case desk != "":
				c, err := client()
				if err != nil {
					return err
				}
				grades = deskGrades{c: c, set: desk}
			case len(gradeFiles) == 0:
				grades = grade.GradingFile{filepath.Join(args[0], corpus.GradingName)}
			}
			r, err := corpus.Report(cmd.Context(), args[0], grades)
			if err != nil {
				return err
			}
			if err := r.WriteReport(args[0]); err != nil {
				return err
			}
			r.Markdown(cmd.OutOrStdout())
			return nil
		},
	}
	client = adminFlags(cmd)
	cmd.Flags().StringArrayVar(&gradeFiles, "grades", nil, "grading files (default: SAMPLE/grading.jsonl)")
	cmd.Flags().StringVar(&desk, "desk", "", "read the grades of this grading set from the server's review desk")
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
same relative paths, records/ (every item dropped or changed, with the stage
and rule, one file per shard), evidence/blacklist.jsonl (the harmful items of each
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
