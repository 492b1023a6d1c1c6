package main

import (
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/firebreak/firebreak/admin"
	"github.com/firebreak/firebreak/kb"
)

func newKBCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "kb", Short: "Manage knowledge bases and the routes grounded in them"}
	client := adminFlags(cmd)
	cmd.AddCommand(kbAddCmd(client), kbListCmd(client), kbSearchCmd(client), kbRemoveCmd(client),
		kbGroundCmd(client), kbUngroundCmd(client))
	return cmd
}

func kbAddCmd(client func() (*adminClient, error)) *cobra.Command {
	var b kb.Base
	var format string
	cmd := &cobra.Command{
		Use:   "add NAME FILE...",
		Short: "Add documents (.md, .txt, .html, .pdf) to a knowledge base, creating it if needed",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			name := url.PathEscape(args[0])
			var bases struct{ Data []kb.Base }
			if err := c.do(ctx, http.MethodGet, "/kb", nil, &bases); err != nil {
				return err
			}
			i := slices.IndexFunc(bases.Data, func(x kb.Base) bool { return x.Name == args[0] })
			if i < 0 {
				b.Name = args[0]
				if err := c.do(ctx, http.MethodPost, "/kb", b, nil); err != nil {
					return err
				}
				if err := c.say("Created knowledge base %s%s.\n", b.Name, scopeOf(b)); err != nil {
					return err
				}
			} else if cmd.Flags().Changed("route") || cmd.Flags().Changed("tenant") {
				return fmt.Errorf("knowledge base %s exists (%s): --route and --tenant only apply to a new one", args[0], strings.TrimPrefix(scopeOf(bases.Data[i]), " "))
			}
			var added []kb.Document
			for _, f := range args[1:] {
				data, err := readInputFile(f, kb.MaxDocumentBytes, "kb add")
				if err != nil {
					return err
				}
				var d kb.Document
				if err := c.do(ctx, http.MethodPost, "/kb/"+name+"/documents", admin.KBDocument{Title: filepath.Base(f), Format: format, Data: data}, &d); err != nil {
					return fmt.Errorf("%s: %w", f, err)
				}
				added = append(added, d)
				if err := c.say("Added %s as document %d (%s, %d chunks).\n", f, d.ID, d.Format, d.Chunks); err != nil {
					return err
				}
			}
			if c.json {
				return c.print(added)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&b.Route, "route", "", "the public model a new base serves (default: every grounded route)")
	cmd.Flags().StringVar(&b.Tenant, "tenant", "", "the tenant a new base serves (default: all)")
	cmd.Flags().StringVar(&b.Description, "description", "", "what a new base holds")
	cmd.Flags().StringVar(&format, "format", "", "text, markdown, html or pdf (default: by each file's extension)")
	return cmd
}

func scopeOf(b kb.Base) string {
	route, tenant := b.Route, b.Tenant
	if route == "" {
		route = "every grounded route"
	}
	if tenant == "" {
		tenant = "all tenants"
	}
	return " for " + route + ", " + tenant
}

func kbListCmd(client func() (*adminClient, error)) *cobra.Command {
	return &cobra.Command{
		Use: "list [NAME]", Short: "List knowledge bases and grounded routes, or the documents of one base", Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
			if len(args) == 1 {
				var d admin.KBDetail
				if err := c.do(ctx, http.MethodGet, "/kb/"+url.PathEscape(args[0]), nil, &d); err != nil {
					return err
				}
				if c.json {
					return c.print(d)
				}
				fmt.Fprintln(tw, "ID\tTITLE\tFORMAT\tBYTES\tCHUNKS\tADDED BY\tADDED")
				for _, x := range d.DocumentList {
					fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%s\t%s\n", x.ID, x.Title, x.Format, x.Bytes, x.Chunks, x.CreatedBy, x.CreatedAt.Format("2006-01-02 15:04"))
				}
				return tw.Flush()
			}
			var bases struct{ Data []kb.Base }
			var grounded struct{ Data []kb.Grounding }
			if err := c.do(ctx, http.MethodGet, "/kb", nil, &bases); err != nil {
				return err
			}
			if err := c.do(ctx, http.MethodGet, "/grounding", nil, &grounded); err != nil {
				return err
			}
			if c.json {
				return c.print(map[string]any{"bases": bases.Data, "grounding": grounded.Data})
			}
			fmt.Fprintln(tw, "NAME\tROUTE\tTENANT\tDOCUMENTS\tCHUNKS\tDESCRIPTION")
			for _, b := range bases.Data {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", b.Name, star(b.Route), star(b.Tenant), b.Documents, b.Chunks, b.Description)
			}
			fmt.Fprintln(tw, "\nGROUNDED ROUTE\tACTION\tTOP K\tMIN SUPPORT\tBY")
			for _, g := range grounded.Data {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%.2f\t%s\n", g.Route, g.Action, g.TopK, g.MinSupport, g.UpdatedBy)
			}
			return tw.Flush()
		},
	}
}

func star(s string) string {
	if s == "" {
		return "*"
	}
	return s
}

func kbSearchCmd(client func() (*adminClient, error)) *cobra.Command {
	var k int
	cmd := &cobra.Command{
		Use: "search NAME QUERY", Short: "Show the passages a grounded route would retrieve for a question", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			q := url.Values{"q": {args[1]}, "k": {strconv.Itoa(k)}}
			var out struct{ Data []kb.Passage }
			if err := c.do(cmd.Context(), http.MethodGet, "/kb/"+url.PathEscape(args[0])+"/search?"+q.Encode(), nil, &out); err != nil {
				return err
			}
			if c.json {
				return c.print(out.Data)
			}
			if len(out.Data) == 0 {
				return c.say("No passage matches.\n")
			}
			for i, p := range out.Data {
				fmt.Fprintf(c.out, "[%d] %s (document %d, chunk %d, score %.3f)\n%s\n\n", i+1, p.Title, p.DocumentID, p.Seq, p.Score, strings.TrimSpace(p.Text))
			}
			return nil
		},
	}
	cmd.Flags().IntVarP(&k, "k", "k", 5, "passages to show")
	return cmd
}

func kbRemoveCmd(client func() (*adminClient, error)) *cobra.Command {
	var yes bool
	var doc int64
	cmd := &cobra.Command{
		Use: "remove NAME --yes", Short: "Remove a knowledge base, or one document of it (--document ID)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			what := "knowledge base " + args[0]
			path := "/kb/" + url.PathEscape(args[0])
			if doc > 0 {
				what = fmt.Sprintf("document %d of knowledge base %s", doc, args[0])
				path += "/documents/" + strconv.FormatInt(doc, 10)
			}
			if !yes {
				return fmt.Errorf("remove %s: this cannot be undone; pass --yes to confirm", what)
			}
			c, err := client()
			if err != nil {
				return err
			}
			if err := c.do(cmd.Context(), http.MethodDelete, path, nil, nil); err != nil {
				return err
			}
			return c.say("Removed %s.\n", what)
		},
	}
	cmd.Flags().BoolVar(&yes, "yes", false, "confirm")
	cmd.Flags().Int64Var(&doc, "document", 0, "remove only this document (its ID, from kb list NAME)")
	return cmd
}

func kbGroundCmd(client func() (*adminClient, error)) *cobra.Command {
	var g kb.Grounding
	var action string
	cmd := &cobra.Command{
		Use:   "ground ROUTE",
		Short: "Ground a route's answers in its knowledge bases and check their support",
		Long: `Ground a route (public model) in the knowledge bases that serve it: each request
gets the top passages with instructions to answer only from them and cite them,
and each answer's sentences are checked for support by them. --action says what
happens to an answer with unsupported sentences: annotate marks them, caution
appends a caution, refuse replaces the answer (risk code A5a; A5b when nothing
was found). Every flagged answer is recorded for review.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			g.Action = kb.Action(action)
			var out kb.Grounding
			if err := c.do(cmd.Context(), http.MethodPut, "/grounding/"+url.PathEscape(args[0]), g, &out); err != nil {
				return err
			}
			if c.json {
				return c.print(out)
			}
			return c.say("Route %s is grounded: top %d passages, sentences under %.2f support flagged, action %s.\n", out.Route, out.TopK, out.MinSupport, out.Action)
		},
	}
	cmd.Flags().StringVar(&action, "action", "annotate", "annotate, caution or refuse")
	cmd.Flags().IntVar(&g.TopK, "top-k", 0, "passages in the prompt (default 4)")
	cmd.Flags().Float64Var(&g.MinSupport, "min-support", 0, "support score under which a sentence is flagged (default 0.5)")
	return cmd
}

func kbUngroundCmd(client func() (*adminClient, error)) *cobra.Command {
	return &cobra.Command{
		Use: "unground ROUTE", Short: "Stop grounding a route", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			if err := c.do(cmd.Context(), http.MethodDelete, "/grounding/"+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			return c.say("Route %s is no longer grounded.\n", args[0])
		},
	}
}
