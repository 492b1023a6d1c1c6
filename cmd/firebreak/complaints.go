package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/firebreak/firebreak/admin"
	"github.com/firebreak/firebreak/audit"
)

func newComplaintsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "complaints",
		Short: "Work through complaints and reports from the public",
		Long: `Complaints arrive from the operator's apps at POST /v1/complaints (Art. 15 of
the Interim Measures: a convenient complaint entry, a published process and a
feedback deadline). Each has a deadline; one past it and neither answered nor
closed is overdue. Answer it here, and the filing app sees the answer at
GET /v1/complaints/ID.`,
	}
	client := adminFlags(cmd)
	cmd.AddCommand(complaintsListCmd(client), complaintsShowCmd(client), complaintsAnswerCmd(client), complaintsCloseCmd(client))
	return cmd
}

func complaintsListCmd(client func() (*adminClient, error)) *cobra.Command {
	var status, tenant string
	var overdue bool
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List complaints, oldest first",
		Example: `  firebreak complaints list --overdue
  firebreak complaints list --status open --tenant default`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			q := url.Values{}
			setIf(q, "status", status)
			setIf(q, "tenant", tenant)
			if overdue {
				q.Set("overdue", "true")
			}
			if limit > 0 {
				q.Set("limit", strconv.Itoa(limit))
			}
			var out struct{ Data []audit.Complaint }
			if err := c.do(cmd.Context(), http.MethodGet, "/complaints?"+q.Encode(), nil, &out); err != nil {
				return err
			}
			if c.json {
				return c.print(out.Data)
			}
			return printComplaints(c.out, out.Data, time.Now())
		},
	}
	cmd.Flags().StringVar(&status, "status", "", "only this status: open, in_review, answered or closed")
	cmd.Flags().BoolVar(&overdue, "overdue", false, "only complaints past their deadline and not answered or closed")
	cmd.Flags().StringVar(&tenant, "tenant", "", "only this tenant's complaints (id or name)")
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many (server default 100, at most 1000)")
	return cmd
}

func printComplaints(w io.Writer, cs []audit.Complaint, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tFILED\tCATEGORY\tSTATUS\tDEADLINE\tREQUEST\tTEXT")
	for _, c := range cs {
		status := c.Status
		if c.Overdue(now) {
			status += " (OVERDUE)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Time.Format(time.DateTime), c.Category, status,
			c.Deadline.Format(time.DateTime), firstSet(c.RequestID, "-"), clip(oneLine(c.Text), 60))
	}
	return tw.Flush()
}

// clip shortens s to at most n runes for a table cell.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func complaintsShowCmd(client func() (*adminClient, error)) *cobra.Command {
	return &cobra.Command{
		Use:     "show ID",
		Short:   "Show one complaint in full, with its contact and answer",
		Example: "  firebreak complaints show c01J…",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var got audit.Complaint
			if err := c.do(cmd.Context(), http.MethodGet, "/complaints/"+url.PathEscape(args[0]), nil, &got); err != nil {
				return err
			}
			if c.json {
				return c.print(got)
			}
			return printComplaint(c.out, &got, time.Now())
		},
	}
}

func printComplaint(w io.Writer, c *audit.Complaint, now time.Time) error {
	status := c.Status
	if c.Overdue(now) {
		status += " (OVERDUE)"
	}
	tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	for _, row := range [][2]string{
		{"ID", c.ID}, {"Filed", c.Time.Format(time.DateTime)}, {"Tenant", c.TenantID}, {"Category", c.Category},
		{"Status", status}, {"Deadline", c.Deadline.Format(time.DateTime)}, {"Request", firstSet(c.RequestID, "-")},
		{"Contact", firstSet(c.Contact, "-")}, {"Updated", c.UpdatedAt.Format(time.DateTime)},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", row[0], row[1])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%s\n", c.Text)
	if c.Answer != "" {
		fmt.Fprintf(w, "\nAnswered %s by %s:\n%s\n", c.AnsweredAt.Format(time.DateTime), c.AnsweredBy, c.Answer)
	}
	return nil
}

func complaintsAnswerCmd(client func() (*adminClient, error)) *cobra.Command {
	var text, file string
	cmd := &cobra.Command{
		Use:   "answer ID --text TEXT",
		Short: "Answer a complaint; it becomes answered and the filing app sees the answer",
		Example: `  firebreak complaints answer c01J… --text "We removed the answer and corrected the model."
  firebreak complaints answer c01J… --text-file reply.txt`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			answer, err := answerText(cmd, text, file)
			if err != nil {
				return err
			}
			c, err := client()
			if err != nil {
				return err
			}
			return updateComplaint(cmd, c, args[0], admin.ComplaintUpdate{Answer: answer})
		},
	}
	cmd.Flags().StringVar(&text, "text", "", "the answer")
	cmd.Flags().StringVar(&file, "text-file", "", `read the answer from this file ("-" for standard input)`)
	cmd.MarkFlagsMutuallyExclusive("text", "text-file")
	cmd.MarkFlagsOneRequired("text", "text-file")
	return cmd
}

// answerText returns the answer from --text or --text-file.
func answerText(cmd *cobra.Command, text, file string) (string, error) {
	if file != "" {
		var b []byte
		var err error
		if file == "-" {
			b, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), 1<<20))
		} else {
			b, err = os.ReadFile(file)
		}
		if err != nil {
			return "", fmt.Errorf("--text-file: %w", err)
		}
		text = string(b)
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return "", errors.New("the answer is empty")
	}
	return text, nil
}

func complaintsCloseCmd(client func() (*adminClient, error)) *cobra.Command {
	return &cobra.Command{
		Use:     "close ID",
		Short:   "Close a complaint (no further action)",
		Example: "  firebreak complaints close c01J…",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			return updateComplaint(cmd, c, args[0], admin.ComplaintUpdate{Status: audit.StatusClosed})
		},
	}
}

// updateComplaint sends the change and shows the complaint as it now is.
func updateComplaint(cmd *cobra.Command, c *adminClient, id string, in admin.ComplaintUpdate) error {
	var got audit.Complaint
	if err := c.do(cmd.Context(), http.MethodPatch, "/complaints/"+url.PathEscape(id), in, &got); err != nil {
		return err
	}
	if c.json {
		return c.print(got)
	}
	_, err := fmt.Fprintf(c.out, "Complaint %s is now %s.\n", got.ID, got.Status)
	return err
}
