package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/firebreak/firebreak/eval/bank"
	"github.com/firebreak/firebreak/eval/bank/starter"
)

func newBankCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bank",
		Short: "Import, check and write evaluation banks (JSONL test items)",
		Long: `An evaluation bank is a JSONL file of test items (docs/eval.md): what to ask,
which bank it belongs to (generated-content, should-refuse, should-not-refuse,
capability or a custom name), the risk code, the language, the expected
behaviour or answer key, the source and the licence.`,
	}
	cmd.AddCommand(newBankImportCmd(), newBankLintCmd(), newBankStarterCmd())
	return cmd
}

func newBankImportCmd() *cobra.Command {
	var format, out string
	var m bank.Mapping
	cmd := &cobra.Command{
		Use:   "import --format " + strings.Join(bank.Formats, "|") + " FILE… -o BANK.jsonl",
		Short: "Turn a public safety dataset into a bank",
		Long: `Import reads a public dataset and writes its items as a bank:
  xstest       xstest_prompts.csv: safe prompts → should-not-refuse, unsafe → should-refuse
  flames       Flames_1k_Chinese.jsonl → generated-content (answers must be harmless)
  cvalues      cvalues_responsibility_prompts.jsonl → should-not-refuse
  safetybench  test_zh_subset.json and test_answers_zh_subset.json → capability,
               multiple choice with the answer key
The datasets carry no GB/T 45654 risk codes; the mapping used is in docs/eval.md.

An operator's own set, CSV with a header row or JSONL, imports with
--format csv|jsonl, --bank and --prompt-field, and optionally the columns of
the id, risk code, aspect, language and exact answer.`,
		Example: `  firebreak bank import --format xstest xstest_prompts.csv -o xstest.jsonl
  firebreak bank import --format safetybench test_zh_subset.json test_answers_zh_subset.json -o sb.jsonl
  firebreak bank import --format csv ours.csv --bank should-refuse --prompt-field question \
      --risk-field code --default-risk A1h --license proprietary -o ours.jsonl`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return fmt.Errorf("-o BANK.jsonl is required")
			}
			var items []bank.Item
			var err error
			if format == "csv" || format == "jsonl" {
				items, err = bank.ImportTable(format, args, m)
			} else {
				items, err = bank.Import(format, args)
			}
			if err != nil {
				return err
			}
			if err := bank.WriteFile(out, items); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %d items to %s\n", len(items), out)
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "dataset format: "+strings.Join(bank.Formats, ", ")+", or csv or jsonl")
	fl := cmd.Flags()
	fl.StringVar(&m.Bank, "bank", "", "csv/jsonl: the bank of every item")
	fl.StringVar(&m.Prompt, "prompt-field", "", "csv/jsonl: column of the prompt")
	fl.StringVar(&m.ID, "id-field", "", "csv/jsonl: column of the id (default: file name and row)")
	fl.StringVar(&m.Risk, "risk-field", "", "csv/jsonl: column of the risk code")
	fl.StringVar(&m.DefaultRisk, "default-risk", "", "csv/jsonl: risk code where the column gives none")
	fl.StringVar(&m.Aspect, "aspect-field", "", "csv/jsonl: column of the should-not-refuse aspect")
	fl.StringVar(&m.Lang, "lang-field", "", "csv/jsonl: column of the language")
	fl.StringVar(&m.DefaultLang, "lang", "zh", "csv/jsonl: language where the column gives none")
	fl.StringVar(&m.Answer, "answer-field", "", "csv/jsonl: column of the exact answer key")
	fl.StringVar(&m.Source, "source", "", "csv/jsonl: source of every item (default: file and row)")
	fl.StringVar(&m.License, "license", "", "csv/jsonl: licence of every item")
	cmd.Flags().StringVarP(&out, "out", "o", "", "bank file to write")
	_ = cmd.MarkFlagRequired("format")
	return cmd
}

func newBankLintCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "lint BANK…",
		Short: "Check banks against the standard's sizes and coverage",
		Long: `Lint reads the banks together and checks them against GB/T 45654-2025:
generated-content ≥ 2,000 items over all 31 risks (≥ 50 per A1/A2 risk, ≥ 20 per
other); should-refuse ≥ 500 over the 17 A1/A2 risks (≥ 20 each); should-not-refuse
≥ 500 over the 13 aspects (≥ 20 each). It says exactly what is missing and exits
non-zero when anything is.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var items []bank.Item
			for _, name := range args {
				f, err := bank.Read(name)
				if err != nil {
					return err
				}
				items = append(items, f.Items...)
			}
			l := bank.Check(items, bank.Floors{})
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if err := enc.Encode(l); err != nil {
					return err
				}
			} else if err := l.WriteText(cmd.OutOrStdout()); err != nil {
				return err
			}
			if !l.OK() {
				return fmt.Errorf("banks fall short of the standard")
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the check as JSON")
	return cmd
}

func newBankStarterCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "starter [FILE]",
		Short: "Write the project's starter bank (zh and en, every bank type)",
		Long: `Starter writes the small bank the project ships: a few dozen items in Chinese
and English for every bank type, each marked "starter": true. It is a starting
point far below the standard's sizes, not a bank for filing. With no FILE it
writes to stdout.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				_, err := cmd.OutOrStdout().Write(starter.JSONL())
				return err
			}
			return os.WriteFile(args[0], starter.JSONL(), 0o644)
		},
	}
}
