package main

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/firebreak/firebreak/policy"
	"github.com/firebreak/firebreak/safety"
)

func newScanCmd() *cobra.Command {
	var src policy.Sources
	var field, direction, bundle string
	var noStarter bool
	var workers int
	cmd := &cobra.Command{
		Use:   "scan [FILE …]",
		Short: "Run the safety engine over text or JSONL files",
		Long: `Scan runs the safety engine over each item of the input — one item per line,
or with --field the named string field of each JSON line — and writes one
JSON object per item to stdout: its decision and hits, each hit with its
risk code, term and byte offsets into the item. A summary by risk code, with
the throughput, goes to stderr. With no FILE, or FILE "-", it reads stdin.

The engine is a policy bundle (--policy DIR), or for quick use the starter
lexicon plus any --lexicon files; a --lexicon file has one term per line,
optionally a tab and a risk code (A1a … A5b), optionally another tab and
an action. A term that a --lexicon file repeats from the starter lexicon
or an earlier file is kept once, with the later file's code and action;
stderr says which terms were merged.

Items are reviewed on every core (--workers) and written in input order.`,
		Example: `  firebreak scan --lexicon words.txt logs.txt
  firebreak scan --field prompt --pii dataset.jsonl > hits.jsonl
  firebreak scan --policy mypolicy --direction output answers.txt`,
		RunE: func(cmd *cobra.Command, args []string) error {
			src.Starter = !noStarter
			var merges []policy.Merge
			src.OnMerge = func(m policy.Merge) { merges = append(merges, m) }
			dir := safety.Input
			switch direction {
			case "input":
			case "output":
				dir = safety.Output
			default:
				return fmt.Errorf("--direction %q: want input or output", direction)
			}
			engine, err := scanEngine(bundle, src)
			if err != nil {
				return err
			}
			reportMerges(cmd.ErrOrStderr(), merges)
			if len(args) == 0 {
				args = []string{"-"}
			}
			if workers <= 0 {
				workers = runtime.GOMAXPROCS(0)
			}
			s := &scanner{engine: engine, dir: dir, field: field, workers: workers,
				codes: map[string]int{}, decisions: map[string]int{}}
			start := time.Now()
			if err := s.run(args, cmd.InOrStdin(), cmd.OutOrStdout()); err != nil {
				return err
			}
			s.summary(cmd.ErrOrStderr(), time.Since(start))
			return nil
		},
	}
	cmd.Flags().StringVar(&bundle, "policy", "", "policy bundle folder (its base engine, no overlays)")
	cmd.Flags().StringArrayVar(&src.Lexicons, "lexicon", nil, "plain lexicon file (repeatable)")
	cmd.Flags().BoolVar(&noStarter, "no-starter", false, "leave out the starter lexicon")
	cmd.Flags().BoolVar(&src.PII, "pii", false, "also detect personal information")
	cmd.Flags().StringVar(&src.DefaultCode, "code", "A1h", "risk code of lexicon lines that name none")
	cmd.Flags().StringVar(&field, "field", "", "scan this string field of each JSON line (dots for nesting: a.b)")
	cmd.Flags().StringVar(&direction, "direction", "input", "review as a prompt (input) or an answer (output)")
	cmd.Flags().IntVar(&workers, "workers", 0, "items reviewed at once (default: one per core)")
	return cmd
}

// scanEngine compiles the bundle in dir, or else the quick sources.
func scanEngine(dir string, src policy.Sources) (*safety.Engine, error) {
	if dir == "" {
		return policy.Compile(src)
	}
	if len(src.Lexicons) > 0 || src.PII {
		return nil, fmt.Errorf("--policy carries its own lexicons and PII settings: drop --lexicon and --pii")
	}
	b, err := policy.LoadDir(dir)
	if err != nil {
		return nil, err
	}
	c, err := policy.CompileBundle(b)
	if err != nil {
		return nil, err
	}
	return c.Base(), nil
}

// reportMerges tells on stderr which terms the --lexicon files repeated,
// per file: how many, and the first few with what they were.
func reportMerges(w io.Writer, merges []policy.Merge) {
	const shown = 5
	for i := 0; i < len(merges); {
		file := merges[i].File
		j := i
		for j < len(merges) && merges[j].File == file {
			j++
		}
		fmt.Fprintf(w, "lexicon %s: %d terms were already in %s; this file's code and action win:\n",
			file, j-i, sourcesOf(merges[i:j]))
		for _, m := range merges[i:min(j, i+shown)] {
			fmt.Fprintf(w, "  %s: %s → %s\n", m.Term.Text, codeAction(m.WasCode, m.WasAction), codeAction(m.Term.Code, m.Term.Action))
		}
		if j-i > shown {
			fmt.Fprintf(w, "  … and %d more\n", j-i-shown)
		}
		i = j
	}
}

func sourcesOf(ms []policy.Merge) string {
	var names []string
	for _, m := range ms {
		from := m.From
		if strings.HasPrefix(from, "starter/") {
			from = "the starter lexicon"
		}
		if !slices.Contains(names, from) {
			names = append(names, from)
		}
	}
	return strings.Join(names, ", ")
}

func codeAction(code, action string) string {
	if action == "" {
		action = "default action"
	}
	return code + " " + action
}
