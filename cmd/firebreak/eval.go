package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/firebreak/firebreak/eval"
	"github.com/firebreak/firebreak/eval/bank"
	"github.com/firebreak/firebreak/eval/bank/starter"
	"github.com/firebreak/firebreak/eval/grade"
	"github.com/firebreak/firebreak/eval/probe"
	"github.com/firebreak/firebreak/eval/report"
	"github.com/firebreak/firebreak/eval/target"
	"github.com/firebreak/firebreak/policy"
	"github.com/firebreak/firebreak/safety/guard"
)

func newEvalCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Measure a model, or the whole service, against GB/T 45654-2025",
	}
	cmd.AddCommand(newEvalRunCmd(), newEvalCompareCmd(), newEvalReportCmd())
	return cmd
}

// evalFlags are the flags of `eval run`.
type evalFlags struct {
	baseURL, apiKey, model, out       string
	concurrency, attempts, maxTokens  int
	timeout                           time.Duration
	temperature                       string
	samples, probes, grading          []string
	seed                              int64
	cacheDir                          string
	noCache, noKeyword, useStarter    bool
	retryErrors                       bool
	policyDir                         string
	guardURL, guardModel, guardFormat string
	guardKey                          string
	judgeURL, judgeModel, judgeKey    string
	user, progress                    string
	manual                            int
	desk                              string
	client                            func() (*adminClient, error)
}

func newEvalRunCmd() *cobra.Command {
	f := &evalFlags{}
	cmd := &cobra.Command{
		Use:   "run BANK… --base-url URL --api-key KEY --model NAME --out DIR",
		Short: "Run banks against an OpenAI-compatible endpoint and write the reports",
		Long: `Run asks every item of the banks (JSONL, see docs/eval.md) of the target — a
model server directly, or the whole service through the gateway with an API key
— grades the answers and writes report.html, report.md, report.json and
manifest.json into DIR, with grading-todo.jsonl for the manual sample.

Every finished item is appended to DIR/journal.jsonl: run the same command again
after an interruption (Ctrl-C, a crash, a kill) and it resumes where it stopped,
with the same totals. Answers are cached by target, model, parameters and
conversation (--cache), so no answer is asked for twice. Errored items are
counted and reported, never dropped; --retry-errors asks them again.`,
		Example: `  firebreak eval run xstest.jsonl --starter --base-url http://127.0.0.1:8080/v1 \
      --api-key $FIREBREAK_KEY --model auto --out runs/2026-12-05
  firebreak eval run bank.jsonl --base-url http://10.0.0.5:8000/v1 --model qwen3-32b \
      --sample should-refuse=300 --probes all --out runs/qwen`,
		RunE: func(cmd *cobra.Command, args []string) error { return runEval(cmd, f, args) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.baseURL, "base-url", "", "the target's API root, with /v1 (required)")
	fl.StringVar(&f.apiKey, "api-key", os.Getenv("FIREBREAK_EVAL_API_KEY"), "bearer key of the target (env FIREBREAK_EVAL_API_KEY)")
	fl.StringVar(&f.model, "model", "", "model name to ask (required)")
	fl.StringVar(&f.out, "out", "", "output folder; resumes the run it holds (required)")
	fl.BoolVar(&f.useStarter, "starter", false, "add the project's starter bank")
	fl.IntVar(&f.concurrency, "concurrency", 8, "requests in flight")
	fl.IntVar(&f.attempts, "attempts", 5, "tries per request (429, 5xx, timeouts are retried with backoff)")
	fl.DurationVar(&f.timeout, "timeout", 120*time.Second, "time one attempt may take")
	fl.StringVar(&f.temperature, "temperature", "", "sampling temperature (default: the server's)")
	fl.IntVar(&f.maxTokens, "max-tokens", 0, "answer length limit (default: the server's)")
	fl.StringArrayVar(&f.samples, "sample", nil, "items per bank, N or BANK=N (repeatable), chosen by --seed")
	fl.Int64Var(&f.seed, "seed", 1, "seed of the sampling")
	fl.StringSliceVar(&f.probes, "probes", nil, "jailbreak mutations of should-refuse items: all or "+strings.Join(probe.Names(), ","))
	fl.StringVar(&f.cacheDir, "cache", "", "answer cache folder (default: the user cache folder)/firebreak/eval")
	fl.BoolVar(&f.noCache, "no-cache", false, "ask everything afresh")
	fl.BoolVar(&f.retryErrors, "retry-errors", false, "ask again the items this run recorded as errors")
	fl.StringVar(&f.policyDir, "policy", "", "policy bundle of the keyword check (default: the built-in default policy)")
	fl.BoolVar(&f.noKeyword, "no-keyword", false, "no keyword check")
	fl.StringVar(&f.guardURL, "guard-url", "", "guard model endpoint (/v1) for the classifier check")
	fl.StringVar(&f.guardModel, "guard-model", "", "guard model name")
	fl.StringVar(&f.guardFormat, "guard-format", string(guard.LlamaGuard3), "llama-guard-3 or qwen3guard")
	fl.StringVar(&f.guardKey, "guard-key", os.Getenv("FIREBREAK_EVAL_GUARD_KEY"), "guard endpoint key (env FIREBREAK_EVAL_GUARD_KEY)")
	fl.StringVar(&f.judgeURL, "judge-url", "", "LLM judge endpoint (/v1)")
	fl.StringVar(&f.judgeModel, "judge-model", "", "LLM judge model name")
	fl.StringVar(&f.judgeKey, "judge-key", os.Getenv("FIREBREAK_EVAL_JUDGE_KEY"), "judge endpoint key (env FIREBREAK_EVAL_JUDGE_KEY)")
	fl.StringArrayVar(&f.grading, "grading", nil, "human grading file (JSONL, the format of grading-todo.jsonl; repeatable)")
	fl.IntVar(&f.manual, "manual", 1000, "size of the manual sample written to grading-todo.jsonl")
	fl.StringVar(&f.user, "user", "per-item", `end user sent with each item: per-item, none, or a fixed name`)
	fl.StringVar(&f.progress, "progress", "auto", "auto, bar, lines or none")
	fl.StringVar(&f.desk, "desk", "", "also send the generated-content items of the manual sample to the server's review desk as this grading set")
	f.client = adminFlags(cmd)
	return cmd
}

func runEval(cmd *cobra.Command, f *evalFlags, args []string) error {
	if f.baseURL == "" || f.model == "" || f.out == "" {
		return errors.New("--base-url, --model and --out are required")
	}
	files, err := readBanks(args, f.useStarter)
	if err != nil {
		return err
	}
	params, err := f.params()
	if err != nil {
		return err
	}
	tgt, err := target.New(target.Options{BaseURL: f.baseURL, APIKey: f.apiKey, Model: f.model, Params: params, Timeout: f.timeout})
	if err != nil {
		return err
	}
	sample, err := parseSamples(f.samples)
	if err != nil {
		return err
	}
	plan, err := eval.NewPlan(files, eval.PlanOptions{Sample: sample, Seed: f.seed, Probes: f.probes, Target: tgt.Identity()})
	if err != nil {
		return err
	}
	var cache *eval.Cache
	if !f.noCache {
		if cache, err = openEvalCache(f.cacheDir); err != nil {
			return err
		}
		defer cache.Close()
	}
	graders, pins, err := f.graders(cache)
	if err != nil {
		return err
	}
	m := &eval.Manifest{Tool: "firebreak", Version: buildVersion(), Started: eval.StartedAt(f.out, time.Now()),
		Plan: plan, Target: tgt.Describe(), Graders: pins}
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return err
	}
	if err := eval.WriteManifest(f.out, m); err != nil {
		return err
	}
	o := eval.Options{Dir: f.out, Plan: plan, Target: tgt, Cache: cache, Graders: graders, Concurrency: f.concurrency,
		Attempts: f.attempts, RetryErrors: f.retryErrors, Progress: newProgress(f.progress, cmd.ErrOrStderr())}
	switch f.user {
	case "per-item":
	case "none":
		o.User = func(string) string { return "" }
	default:
		name := f.user
		o.User = func(string) string { return name }
	}
	st, runErr := eval.Run(cmd.Context(), o)
	fmt.Fprintf(cmd.ErrOrStderr(), "eval: %d planned, %d already done, %d sent, %d from the cache, %d errors\n",
		st.Planned, st.Skipped, st.Sent, st.FromCache, st.Errors)
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		return runErr
	}
	res, err := writeReports(cmd.Context(), f.out, m, humanGrades(f.grading, nil), f.manual, f.seed)
	if err != nil {
		return err
	}
	if runErr != nil {
		return fmt.Errorf("interrupted: %d of %d items recorded; run the same command again to resume", res.Totals.Recorded, res.Totals.Planned)
	}
	for _, th := range res.Thresholds {
		fmt.Fprintf(cmd.OutOrStdout(), "%-4s %s\n", th.Verdict, th.Name)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "report: %s\n", filepath.Join(f.out, "report.html"))
	if f.desk == "" {
		return nil
	}
	// The sample goes to the desk once the run is whole: it is drawn from
	// the answered items, which an interrupted run has not all of yet.
	// Refusal banks' items are graded comply, refuse or partial, which the
	// desk does not decide: they stay in grading-todo.jsonl.
	c, err := f.client()
	if err != nil {
		return err
	}
	return sendGradingSet(cmd.Context(), c, f.desk, filepath.Join(f.out, eval.GradingTodoName),
		func(h grade.HumanGrade) bool { return h.Bank == bank.GeneratedContent })
}

// humanGrades are the grades of the grading files and, when desk is set,
// of its grading set; the desk's win.
func humanGrades(files []string, desk *deskGrades) grade.HumanGrades {
	var m grade.Merged
	if len(files) > 0 {
		m = append(m, grade.GradingFile(files))
	}
	if desk != nil {
		m = append(m, *desk)
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

// writeReports summarises the run in dir and writes every report file.
func writeReports(ctx context.Context, dir string, m *eval.Manifest, human grade.HumanGrades, manual int, seed int64) (*eval.Results, error) {
	res, err := eval.Summarise(ctx, dir, eval.SummaryOptions{Human: human})
	if err != nil {
		return nil, err
	}
	m.Totals = res.Totals
	if res.Totals.Complete {
		m.Finished = time.Now()
	}
	if err := eval.WriteManifest(dir, m); err != nil {
		return nil, err
	}
	if err := eval.WriteGradingTodo(dir, manual, seed); err != nil {
		return nil, err
	}
	return res, report.WriteAll(dir, report.Report{Manifest: m, Results: res})
}

func readBanks(args []string, withStarter bool) ([]*bank.File, error) {
	var files []*bank.File
	for _, name := range args {
		bf, err := bank.Read(name)
		if err != nil {
			return nil, err
		}
		files = append(files, bf)
	}
	if withStarter {
		sf, err := starter.File()
		if err != nil {
			return nil, err
		}
		files = append(files, sf)
	}
	if len(files) == 0 {
		return nil, errors.New("no bank: name BANK files or --starter")
	}
	return files, nil
}

func (f *evalFlags) params() (target.Params, error) {
	p := target.Params{MaxTokens: f.maxTokens}
	if f.temperature != "" {
		t, err := strconv.ParseFloat(f.temperature, 64)
		if err != nil {
			return p, fmt.Errorf("--temperature: %w", err)
		}
		p.Temperature = &t
	}
	return p, nil
}

func parseSamples(flags []string) (map[string]int, error) {
	out := map[string]int{}
	for _, s := range flags {
		name, num, ok := strings.Cut(s, "=")
		if !ok {
			name, num = "*", s
		}
		n, err := strconv.Atoi(num)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("--sample %q: want N or BANK=N", s)
		}
		out[name] = n
	}
	return out, nil
}

func openEvalCache(dir string) (*eval.Cache, error) {
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("no cache folder (%v): set --cache or --no-cache", err)
		}
		dir = filepath.Join(base, "firebreak", "eval")
	}
	return eval.OpenCache(dir)
}

// graders builds the configured graders and what the manifest pins of
// them.
func (f *evalFlags) graders(cache *eval.Cache) (eval.Graders, map[string]any, error) {
	var g eval.Graders
	pins := map[string]any{"refusal": "built-in zh/en phrase detector"}
	if !f.noKeyword {
		engine, err := scanEngine(f.policyDir, policy.Sources{})
		if f.policyDir == "" {
			var c *policy.Compiled
			if c, err = policy.CompileBundle(policy.Default()); err == nil {
				engine = c.Base()
			}
		}
		if err != nil {
			return g, nil, fmt.Errorf("keyword check: %w", err)
		}
		g.Keyword = grade.Keyword{Engine: engine}
		pins["keyword"] = map[string]any{"policy": f.policyDir, "version": engine.Version()}
	}
	if f.guardURL != "" {
		gm, err := guard.New(guard.Options{BaseURL: f.guardURL, APIKey: f.guardKey, Model: f.guardModel,
			Format: guard.Format(f.guardFormat), Timeout: f.timeout})
		if err != nil {
			return g, nil, err
		}
		g.Classifier = grade.Guard{Model: gm}
		pins["classifier"] = map[string]any{"base_url": f.guardURL, "model": f.guardModel, "format": f.guardFormat}
	}
	if f.judgeURL != "" {
		jc, err := target.New(target.Options{BaseURL: f.judgeURL, APIKey: f.judgeKey, Model: f.judgeModel,
			Params: target.Params{Temperature: new(0.0)}, Timeout: f.timeout})
		if err != nil {
			return g, nil, fmt.Errorf("judge: %w", err)
		}
		g.Judge = grade.Judge{Model: eval.Cached{Target: jc, Cache: cache}}
		pins["judge"] = map[string]any{"base_url": f.judgeURL, "model": f.judgeModel, "temperature": 0,
			"prompt_sha256": grade.JudgePromptSHA256()}
	}
	return g, pins, nil
}

func newEvalReportCmd() *cobra.Command {
	var grading []string
	var manual int
	var seed int64
	var desk string
	var client func() (*adminClient, error)
	cmd := &cobra.Command{
		Use:   "report DIR",
		Short: "Write a run's reports again (with new human grades)",
		Long: `Report recomputes the results of the run in DIR from its journal and writes
report.html, report.md, report.json and manifest.json again: after human grades
were added (--grading, or --desk for the grading set sent with eval run
--desk), or to look at an interrupted run.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := eval.ReadManifest(args[0])
			if err != nil {
				return fmt.Errorf("%s holds no run: %w", args[0], err)
			}
			var fromDesk *deskGrades
			if desk != "" {
				c, err := client()
				if err != nil {
					return err
				}
				fromDesk = &deskGrades{c: c, set: desk}
			}
			res, err := writeReports(cmd.Context(), args[0], m, humanGrades(grading, fromDesk), manual, seed)
			if err != nil {
				return err
			}
			for _, th := range res.Thresholds {
				fmt.Fprintf(cmd.OutOrStdout(), "%-4s %s\n", th.Verdict, th.Name)
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&grading, "grading", nil, "human grading file (repeatable)")
	cmd.Flags().IntVar(&manual, "manual", 1000, "size of the manual sample written to grading-todo.jsonl")
	cmd.Flags().Int64Var(&seed, "seed", 1, "seed of the manual sample")
	cmd.Flags().StringVar(&desk, "desk", "", "read human grades from this grading set on the server's review desk too")
	client = adminFlags(cmd)
	return cmd
}

func newEvalCompareCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "compare DIR_A DIR_B",
		Short: "Compare two runs item by item (exact McNemar per bank, Holm across risk codes)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := eval.Compare(args[0], args[1])
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(c)
			}
			return c.WriteText(cmd.OutOrStdout())
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the comparison as JSON")
	return cmd
}
