package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/firebreak/firebreak/admin"
	"github.com/firebreak/firebreak/policy"
)

func newPolicyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Validate, test, publish and roll back policy bundles",
		Long: `A policy bundle is a folder: policy.yaml plus the lexicon and allow-list
files it names. validate, diff, test and coverage work offline on folders;
publish, rollback and history go through the running server's admin API, so
every replica enforces the change within a second.`,
	}
	client := adminFlags(cmd)
	cmd.AddCommand(policyInitCmd(), policyValidateCmd(), policyDiffCmd(client), policyTestCmd(client),
		policyPublishCmd(client), policyRollbackCmd(client), policyHistoryCmd(client), policyCoverageCmd(client))
	return cmd
}

func policyInitCmd() *cobra.Command {
	return &cobra.Command{
		Use: "init DIR", Short: "Write the default bundle (starter lexicon) into DIR to start from", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := policy.Default().WriteDir(args[0]); err != nil {
				return err
			}
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "wrote the default bundle %s to %s\n", policy.Default().ID(), args[0])
			return err
		},
	}
}

func policyValidateCmd() *cobra.Command {
	return &cobra.Command{
		Use: "validate DIR", Short: "Check a bundle; problems name file and line", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := compileDir(args[0])
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s: valid, version %s, %d terms\n", args[0], c.Version(), c.Base().Lexicon().Len())
			return err
		},
	}
}

// compileDir loads and compiles a bundle folder; an invalid bundle's
// problems become one line each.
func compileDir(dir string) (*policy.Compiled, error) {
	b, err := policy.LoadDir(dir)
	if err != nil {
		return nil, err
	}
	c, err := policy.CompileBundle(b)
	var inv *policy.InvalidError
	if errors.As(err, &inv) {
		msg := fmt.Sprintf("%s: %d problems", dir, len(inv.Problems))
		for _, p := range inv.Problems {
			msg += "\n  " + p.String()
		}
		return nil, errors.New(msg)
	}
	return c, err
}

// compileRef compiles a folder, or a stored version fetched through the
// admin API ("active" or "" for the version in force).
func compileRef(ctx context.Context, ref string, client func() (*adminClient, error)) (*policy.Compiled, error) {
	if st, err := os.Stat(ref); err == nil && st.IsDir() {
		return compileDir(ref)
	}
	c, err := client()
	if err != nil {
		return nil, err
	}
	if ref == "" {
		ref = "active"
	}
	var out admin.PolicyFiles
	if err := c.do(ctx, http.MethodGet, "/policy/versions/"+url.PathEscape(ref), nil, &out); err != nil {
		return nil, err
	}
	b, err := policy.BundleFromText(out.Files)
	if err != nil {
		return nil, err
	}
	return policy.CompileBundle(b)
}

func policyDiffCmd(client func() (*adminClient, error)) *cobra.Command {
	var max int
	cmd := &cobra.Command{
		Use: "diff [VERSION|DIR] DIR", Short: "Show what DIR changes against a version (default: the one in force) or another folder",
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			from, to := "", args[0]
			if len(args) == 2 {
				from, to = args[0], args[1]
			}
			a, err := compileRef(cmd.Context(), from, client)
			if err != nil {
				return err
			}
			b, err := compileDir(to)
			if err != nil {
				return err
			}
			return policy.DiffOf(a, b).WriteText(cmd.OutOrStdout(), max)
		},
	}
	cmd.Flags().IntVar(&max, "max", 50, "list at most this many items per section (0: all)")
	return cmd
}

func policyTestCmd(client func() (*adminClient, error)) *cobra.Command {
	var traffic, base string
	var opts policy.DryRunOptions
	var recorded admin.RecordedTraffic
	cmd := &cobra.Command{
		Use:   "test DIR (--traffic FILE.jsonl | --recorded N)",
		Short: "Replay traffic through a base and DIR and report what would change",
		Long: `With --traffic, each line is {"direction":"input"|"output","text":"…"},
optionally with "route", "tenant" and "minor"; the base is --base (a folder,
or a stored version through the admin API), else the built-in default
bundle. With --recorded N the running server replays its N newest records
whose content it retains (flagged traffic, kept encrypted) through the
version in force and DIR.`,
		Example: `  firebreak policy test mypolicy --traffic sample.jsonl --base mypolicy-old
  firebreak policy test mypolicy --recorded 500 --from 2026-11-01`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, _ := cmd.Flags().GetBool("json") // the admin flags' --json
			to, err := compileDir(args[0])
			if err != nil {
				return err
			}
			if recorded.Limit > 0 {
				return serverDryRun(cmd, client, to, recorded, opts.Examples, asJSON)
			}
			if traffic == "" {
				return errors.New("give --traffic FILE or --recorded N")
			}
			from, err := policy.CompileBundle(policy.Default())
			if base != "" {
				from, err = compileRef(cmd.Context(), base, client)
			}
			if err != nil {
				return err
			}
			f, err := os.Open(traffic)
			if err != nil {
				return err
			}
			defer f.Close()
			rep, err := policy.DryRun(cmd.Context(), from, to, policy.ReadJSONL(f), opts)
			if err != nil {
				return err
			}
			return printReport(cmd.OutOrStdout(), rep, asJSON)
		},
	}
	cmd.Flags().StringVar(&traffic, "traffic", "", "JSONL file of traffic")
	cmd.Flags().StringVar(&base, "base", "", "compare against this folder or stored version (default: the built-in default bundle)")
	cmd.Flags().IntVar(&opts.Examples, "examples", 3, "examples per change")
	cmd.Flags().IntVar(&opts.Limit, "limit", 0, "replay at most this many samples (0: all)")
	cmd.Flags().IntVar(&recorded.Limit, "recorded", 0, "replay the server's N newest retained records instead of a file")
	cmd.Flags().StringVar(&recorded.From, "from", "", "with --recorded: records from this day or time")
	cmd.Flags().StringVar(&recorded.To, "to", "", "with --recorded: records before this day or time")
	return cmd
}

// serverDryRun has the running server replay its retained traffic through
// the version in force and the proposed bundle.
func serverDryRun(cmd *cobra.Command, client func() (*adminClient, error), to *policy.Compiled, rec admin.RecordedTraffic, examples int, asJSON bool) error {
	c, err := client()
	if err != nil {
		return err
	}
	in := admin.PolicyDryRun{Files: to.Bundle().Files(), Examples: examples, Recorded: &rec}
	var rep policy.Report
	if err := c.do(cmd.Context(), http.MethodPost, "/policy/dryrun", in, &rep); err != nil {
		return err
	}
	return printReport(cmd.OutOrStdout(), &rep, asJSON)
}

func printReport(w io.Writer, rep *policy.Report, asJSON bool) error {
	if asJSON {
		return (&adminClient{out: w}).print(rep)
	}
	return rep.WriteText(w)
}

func policyPublishCmd(client func() (*adminClient, error)) *cobra.Command {
	var in admin.PolicyPublish
	cmd := &cobra.Command{
		Use: "publish DIR --reason TEXT", Short: "Validate DIR and put it in force on every replica", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			compiled, err := compileDir(args[0])
			if err != nil {
				return err
			}
			in.Files = compiled.Bundle().Files()
			var res policy.Result
			if err := c.do(cmd.Context(), http.MethodPost, "/policy/publish", in, &res); err != nil {
				return err
			}
			return printResult(c, res, "published")
		},
	}
	changeFlags(cmd, &in.Reason)
	return cmd
}

func policyRollbackCmd(client func() (*adminClient, error)) *cobra.Command {
	var in admin.PolicyRollback
	cmd := &cobra.Command{
		Use: "rollback [VERSION] --reason TEXT", Short: "Put a stored version back in force (default: the one before the current)",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			if len(args) == 1 {
				in.Version = args[0]
			}
			var res policy.Result
			if err := c.do(cmd.Context(), http.MethodPost, "/policy/rollback", in, &res); err != nil {
				return err
			}
			return printResult(c, res, "rolled back")
		},
	}
	changeFlags(cmd, &in.Reason)
	return cmd
}

// changeFlags adds --reason; the author recorded is the owner of the
// admin token.
func changeFlags(cmd *cobra.Command, reason *string) {
	cmd.Flags().StringVar(reason, "reason", "", "why (recorded in the history with the token's owner as author; required)")
	_ = cmd.MarkFlagRequired("reason")
}

func printResult(c *adminClient, res policy.Result, verb string) error {
	if c.json {
		return c.print(res)
	}
	if !res.Changed {
		_, err := fmt.Fprintf(c.out, "no change: %s is already in force\n", res.Version)
		return err
	}
	_, err := fmt.Fprintf(c.out, "%s: %s in force (was %s), event %d\n", verb, res.Version, orNone(res.Previous), res.Event.Seq)
	return err
}

func orNone(s string) string {
	if s == "" {
		return "the built-in default"
	}
	return s
}

func policyHistoryCmd(client func() (*adminClient, error)) *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use: "history", Short: "List publishes and rollbacks, newest first", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var out struct{ Data []policy.Event }
			if err := c.do(cmd.Context(), http.MethodGet, fmt.Sprintf("/policy/history?limit=%d", limit), nil, &out); err != nil {
				return err
			}
			if c.json {
				return c.print(out.Data)
			}
			tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SEQ\tAT\tKIND\tVERSION\tPREVIOUS\tAUTHOR\tREASON")
			for _, e := range out.Data {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.At.UTC().Format("2006-01-02 15:04:05"), e.Kind, e.Version, e.Previous, e.Author, e.Reason)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 50, "events to list")
	return cmd
}

func policyCoverageCmd(client func() (*adminClient, error)) *cobra.Command {
	return &cobra.Command{
		Use:   "coverage [DIR]",
		Short: "Count terms per risk code against the standard's floors (DIR offline, else the version in force)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var cov policy.Coverage
			if len(args) == 1 {
				c, err := compileDir(args[0])
				if err != nil {
					return err
				}
				cov = policy.CoverageOf(c, policy.Floors{})
			} else {
				c, err := client()
				if err != nil {
					return err
				}
				if err := c.do(cmd.Context(), http.MethodGet, "/policy/coverage", nil, &cov); err != nil {
					return err
				}
			}
			return cov.WriteText(cmd.OutOrStdout())
		},
	}
}
