package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/firebreak/firebreak/admin"
	"github.com/firebreak/firebreak/audit"
)

// maxSearchPage is the most records the admin API returns per call.
const maxSearchPage = 1000

func newRecordsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "records",
		Short: "Search and export the audit trail of a running server; data-subject access and erasure",
		Long: `Every request leaves an audit record: who asked, which model answered, what
input and output review decided under which policy version, and the outcome.
These commands read the trail through a running server's admin API; the
offline "firebreak audit" commands read the database directly.

Records carry no prompt or answer text, except "records user", which is a
data-subject access request (Art. 11 of the Interim Measures) and returns the
content the retention policy kept. "records forget" erases that content; the
records themselves stay, as the six-month log obligation asks, and the hash
chain still verifies.`,
	}
	client := adminFlags(cmd)
	cmd.AddCommand(recordsSearchCmd(client), recordsExportCmd(client), recordsUserCmd(client), recordsForgetCmd(client))
	return cmd
}

// recordFilters are the audit query flags shared by search and export.
type recordFilters struct {
	tenant, user, from, to, decision, code, outcome, requestID, kind string
}

func (f *recordFilters) bind(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.tenant, "tenant", "", "only this tenant (id or name)")
	cmd.Flags().StringVar(&f.user, "user", "", "only this end user (the operator's user id; needs --tenant)")
	cmd.Flags().StringVar(&f.from, "from", "", "records at or after: 2026-01-31, RFC 3339, or a duration ago such as 24h")
	cmd.Flags().StringVar(&f.to, "to", "", "records before: 2026-02-28, RFC 3339, or a duration ago")
	cmd.Flags().StringVar(&f.decision, "decision", "", "only records where either direction decided this: allow, mask, review, refuse or block")
	cmd.Flags().StringVar(&f.code, "code", "", "only records with this risk code (A1a …) in either direction")
	cmd.Flags().StringVar(&f.outcome, "outcome", "", "only this outcome: ok, refused, filtered, rejected, upstream_error, stream_failed, client_gone …")
	cmd.Flags().StringVar(&f.requestID, "request-id", "", "only the record of this request (its X-Request-Id)")
	cmd.Flags().StringVar(&f.kind, "kind", "", "requests (default), staff (staff logins and changes) or all")
}

// query returns the filters as admin API parameters, times resolved
// against now.
func (f *recordFilters) query(now time.Time) (url.Values, error) {
	if f.user != "" && f.tenant == "" {
		return nil, errors.New("--user needs --tenant: user ids are per tenant")
	}
	q := url.Values{}
	for _, p := range [][2]string{{"tenant", f.tenant}, {"user", f.user}, {"decision", f.decision},
		{"code", f.code}, {"outcome", f.outcome}, {"request_id", f.requestID}, {"kind", f.kind}} {
		setIf(q, p[0], p[1])
	}
	for _, p := range [][2]string{{"from", f.from}, {"to", f.to}} {
		t, err := parseWhen(p[1], now)
		if err != nil {
			return nil, fmt.Errorf("--%s: %w", p[0], err)
		}
		setIf(q, p[0], t)
	}
	return q, nil
}

// parseWhen reads a time flag: a day (YYYY-MM-DD, UTC), an RFC 3339 time,
// or a duration meaning that long before now. It returns the form the
// admin API takes.
func parseWhen(s string, now time.Time) (string, error) {
	if s == "" {
		return "", nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return "", fmt.Errorf("%q: a duration ago must be positive", s)
		}
		return now.Add(-d).UTC().Format(time.RFC3339Nano), nil
	}
	if _, err := time.Parse(time.DateOnly, s); err == nil {
		return s, nil
	}
	if _, err := time.Parse(time.RFC3339, s); err == nil {
		return s, nil
	}
	return "", fmt.Errorf("%q: want YYYY-MM-DD, RFC 3339 or a duration such as 24h", s)
}

func recordsSearchCmd(client func() (*adminClient, error)) *cobra.Command {
	var f recordFilters
	var limit int
	cmd := &cobra.Command{
		Use:   "search",
		Short: "Find audit records, in chain order",
		Example: `  firebreak records search --decision refuse --from 24h
  firebreak records search --tenant default --user u-1024 --code A1d --limit 500 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit <= 0 {
				return errors.New("--limit must be positive")
			}
			q, err := f.query(time.Now())
			if err != nil {
				return err
			}
			c, err := client()
			if err != nil {
				return err
			}
			es, err := searchRecords(cmd, c, q, limit)
			if err != nil {
				return err
			}
			if c.json {
				return c.print(es)
			}
			return printRecords(c.out, es)
		},
	}
	f.bind(cmd)
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many records")
	return cmd
}

// searchRecords pages through the admin API until limit records or the
// last match.
func searchRecords(cmd *cobra.Command, c *adminClient, q url.Values, limit int) ([]audit.Entry, error) {
	es := []audit.Entry{}
	for len(es) < limit {
		want := min(limit-len(es), maxSearchPage)
		q.Set("limit", strconv.Itoa(want))
		var page struct{ Data []audit.Entry }
		if err := c.do(cmd.Context(), http.MethodGet, "/audit?"+q.Encode(), nil, &page); err != nil {
			return nil, err
		}
		es = append(es, page.Data...)
		if len(page.Data) < want {
			break
		}
		q.Set("after", page.Data[len(page.Data)-1].ID)
	}
	return es, nil
}

func printRecords(w io.Writer, es []audit.Entry) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tREQUEST ID\tMODEL\tINPUT\tOUTPUT\tCODE\tOUTCOME")
	for _, e := range es {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.Format(time.DateTime), firstSet(e.RequestID, "-"),
			firstSet(e.Model, "-"), e.Input.Action, e.Output.Action, recordCode(e.Record), e.Outcome)
	}
	return tw.Flush()
}

// recordCode is the risk code that decided, per direction where they differ.
func recordCode(r audit.Record) string {
	in, out := r.Input.Code, r.Output.Code
	switch {
	case in == "" && out == "":
		return "-"
	case out == "" || in == out:
		return in
	case in == "":
		return out
	}
	return in + "/" + out
}

func recordsExportCmd(client func() (*adminClient, error)) *cobra.Command {
	var f recordFilters
	var format string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Stream every matching record to standard output as JSONL or CSV",
		Example: `  firebreak records export --from 2026-01-01 --to 2026-02-01 --format csv > january.csv
  firebreak records export --decision refuse --format jsonl | jq .input.code`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "jsonl" && format != "csv" {
				return fmt.Errorf("--format %q: want jsonl or csv", format)
			}
			q, err := f.query(time.Now())
			if err != nil {
				return err
			}
			c, err := client()
			if err != nil {
				return err
			}
			q.Set("format", format)
			return exportRecords(cmd, c, q)
		},
	}
	f.bind(cmd)
	cmd.Flags().StringVar(&format, "format", "jsonl", "jsonl or csv")
	return cmd
}

// exportRecords copies the export as it arrives. It has no overall
// timeout, since an export of months can take long; the command's
// context cancels it.
func exportRecords(cmd *cobra.Command, c *adminClient, q url.Values) error {
	resp, err := c.send(cmd.Context(), &http.Client{Transport: c.http.Transport}, http.MethodGet, "/audit/export?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	n, err := io.Copy(c.out, resp.Body)
	if err != nil {
		return fmt.Errorf("export cut short after %d bytes: %w", n, err)
	}
	return nil
}

func recordsUserCmd(client func() (*adminClient, error)) *cobra.Command {
	return &cobra.Command{
		Use:   "user TENANT USER",
		Short: "Data-subject access: every record, complaint and appeal of one user, with what is kept",
		Long: `Returns every audit record of one end user with the prompt and answer the
retention policy kept, decrypted, and the complaints filed for them and their
appeals with their texts (Art. 11 of the Interim Measures: honour a user's
request for access). Clean traffic is kept as hashes by default, so
only flagged records usually carry text. Use --json for a file to hand over.`,
		Example: "  firebreak records user default u-1024 --json > u-1024.json",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var out admin.UserData
			if err := c.do(cmd.Context(), http.MethodGet, userPath(args[0], args[1])+"/records", nil, &out); err != nil {
				return err
			}
			if c.json {
				return c.print(out)
			}
			return printUserData(c.out, out)
		},
	}
}

func printUserData(w io.Writer, d admin.UserData) error {
	if err := printUserRecords(w, d.Data); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d complaint(s)\n", len(d.Complaints))
	for _, c := range d.Complaints {
		fmt.Fprintf(w, "\n%s  %s  %s  %s\n  text: %s\n", c.Time.Format(time.DateTime), c.ID, c.Category, c.Status, indent(c.Text))
		if c.Contact != "" {
			fmt.Fprintf(w, "  contact: %s\n", c.Contact)
		}
	}
	fmt.Fprintf(w, "\n%d appeal(s)\n", len(d.Appeals))
	for _, a := range d.Appeals {
		fmt.Fprintf(w, "\n%s  %s  sanction %s  %s\n  text: %s\n", a.Time.Format(time.DateTime), a.ID, a.SanctionID, a.Status, indent(a.Text))
	}
	return nil
}

func printUserRecords(w io.Writer, es []audit.Entry) error {
	fmt.Fprintf(w, "%d record(s)\n", len(es))
	for _, e := range es {
		fmt.Fprintf(w, "\n%s  %s  model %s  input %s  output %s  code %s  %s\n", e.Time.Format(time.DateTime),
			firstSet(e.RequestID, "-"), firstSet(e.Model, "-"), e.Input.Action, e.Output.Action, recordCode(e.Record), e.Outcome)
		if note := contentNote(e); note != "" {
			fmt.Fprintf(w, "  (%s)\n", note)
			continue
		}
		fmt.Fprintf(w, "  prompt: %s\n  answer: %s\n", indent(e.Content.Prompt), indent(e.Content.Answer))
	}
	return nil
}

// contentNote says why a record shows no content, or "" when it has some.
func contentNote(e audit.Entry) string {
	switch {
	case !e.Stored.ErasedAt.IsZero():
		return "content erased " + e.Stored.ErasedAt.Format(time.DateTime)
	case e.Content.Prompt != "" || e.Content.Answer != "":
		return ""
	case e.Stored.Mode == audit.ModeHash:
		return "content kept only as hashes"
	case e.Stored.Mode == audit.ModeNone:
		return "content not kept"
	}
	return "content not readable with the configured keys"
}

func indent(s string) string {
	return strings.ReplaceAll(s, "\n", "\n          ")
}

func recordsForgetCmd(client func() (*adminClient, error)) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "forget TENANT USER --yes",
		Short: "Erasure: delete what one user wrote and what identifies them",
		Long: `Erases, at an end user's request (Art. 11 of the Interim Measures), the
prompt and answer content (ciphertext or hashes) of every audit record of the
user, the texts and contacts of the complaints filed for them, the texts of
their appeals, the notes and corrected answers reviewers wrote on their items
at the review desk, and their identity verification (they are unverified
afterwards). It cannot be undone, hence --yes. The records, complaints and
appeals themselves stay, for the six-month log obligation, and the hash chain
still verifies.`,
		Example: "  firebreak records forget default u-1024 --yes",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !yes {
				return fmt.Errorf("erasing %s's content in %s cannot be undone: pass --yes to confirm", args[1], args[0])
			}
			c, err := client()
			if err != nil {
				return err
			}
			var out struct {
				Erased     int64 `json:"erased"`
				Complaints int64 `json:"complaints"`
				Appeals    int64 `json:"appeals"`
				Notes      int64 `json:"review_notes"`
				Identity   bool  `json:"identity"`
			}
			if err := c.do(cmd.Context(), http.MethodDelete, userPath(args[0], args[1])+"/records", nil, &out); err != nil {
				return err
			}
			if c.json {
				return c.print(out)
			}
			_, err = fmt.Fprintf(c.out, "Erased the content of %d record(s), %d complaint(s), %d appeal(s) and %d review decision(s) of %s in %s; the records stay.\n",
				out.Erased, out.Complaints, out.Appeals, out.Notes, args[1], args[0])
			if err == nil && out.Identity {
				_, err = fmt.Fprintln(c.out, "The identity verification is forgotten: the user is unverified.")
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&yes, "yes", false, "confirm the erasure")
	return cmd
}
