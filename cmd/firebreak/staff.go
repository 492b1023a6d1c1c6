package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/firebreak/firebreak/admin"
	"github.com/firebreak/firebreak/config"
	"github.com/firebreak/firebreak/staff"
)

func newStaffCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "staff",
		Short: "Manage staff accounts, their roles and personal admin tokens",
		Long: `Staff are the people who operate Firebreak: each logs in to the console at
/console/ and calls the admin API with a personal token, limited to the
member's role (admin, policy, reviewer, auditor, viewer).

On a new installation, create the first admin with the bootstrap admin token
printed at first start; --token also issues that admin's first personal token
for the CLI:

  FIREBREAK_ADMIN_TOKEN=fba_… firebreak staff create --name alice --role admin \
      --email alice@example.com --password-file pw.txt --token cli

The bootstrap token can do nothing else; turn it off with
'firebreak staff disable-bootstrap' once an admin exists.`,
	}
	client := adminFlags(cmd)
	cmd.AddCommand(staffListCmd(client), staffCreateCmd(client), staffSetCmd(client), staffPasswordCmd(client),
		staffTokensCmd(client), staffWhoamiCmd(client),
		staffSimpleCmd(client, "unlock NAME", "Clear a lockout after failed logins", http.MethodPost, "/unlock"),
		staffSimpleCmd(client, "reset-totp NAME", "Remove a member's TOTP second factor (the member sets it up again)", http.MethodDelete, "/totp"),
		&cobra.Command{Use: "disable-bootstrap", Short: "Turn the shared bootstrap admin token off", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				c, err := client()
				if err != nil {
					return err
				}
				if err := c.do(cmd.Context(), http.MethodDelete, "/bootstrap", nil, nil); err != nil {
					return err
				}
				_, err = fmt.Fprintln(c.out, "the bootstrap admin token is disabled")
				return err
			}})
	return cmd
}

func staffPath(name string) string { return "/staff/" + url.PathEscape(name) }

func staffListCmd(client func() (*adminClient, error)) *cobra.Command {
	return &cobra.Command{Use: "list", Short: "List staff", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var out struct{ Data []staff.Member }
			if err := c.do(cmd.Context(), http.MethodGet, "/staff", nil, &out); err != nil {
				return err
			}
			if c.json {
				return c.print(out.Data)
			}
			tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tROLE\tTENANTS\tSTATE\tTOTP\tE-MAIL")
			for _, m := range out.Data {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%s\n", m.Name, m.Role, orAll(m.Tenants), m.State, m.TOTP, m.Email)
			}
			return tw.Flush()
		}}
}

// readPassword reads a password from a file, or standard input for "-".
func readPassword(cmd *cobra.Command, file string) (string, error) {
	if file == "" {
		return "", nil
	}
	var r io.Reader = cmd.InOrStdin()
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return "", fmt.Errorf("--password-file: %w", err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, staff.MaxPassword+2))
	if err != nil {
		return "", fmt.Errorf("--password-file: %w", err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

func staffCreateCmd(client func() (*adminClient, error)) *cobra.Command {
	var in admin.StaffInput
	var role, email, pwFile string
	var tenants []string
	cmd := &cobra.Command{Use: "create", Short: "Create a staff member", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			if in.Password, err = readPassword(cmd, pwFile); err != nil {
				return err
			}
			r := staff.Role(role)
			in.Role, in.Email, in.Tenants = &r, &email, &tenants
			var out admin.StaffCreated
			if err := c.do(cmd.Context(), http.MethodPost, "/staff", in, &out); err != nil {
				return err
			}
			if c.json {
				return c.print(out)
			}
			fmt.Fprintf(c.out, "created %s (%s)\n", out.Member.Name, out.Member.Role)
			if out.Token != "" {
				fmt.Fprintf(c.out, "personal admin token (shown only now): %s\n", out.Token)
			}
			return nil
		}}
	cmd.Flags().StringVar(&in.Name, "name", "", "login name (lower case; required)")
	cmd.Flags().StringVar(&role, "role", "", "admin, policy, reviewer, auditor or viewer (required)")
	cmd.Flags().StringVar(&email, "email", "", "e-mail address")
	cmd.Flags().StringSliceVar(&tenants, "tenant", nil, "limit the role to these tenant ids (repeatable; default all)")
	cmd.Flags().StringVar(&pwFile, "password-file", "", "file holding the console password, or - for standard input")
	cmd.Flags().StringVar(&in.Token, "token", "", "also issue a personal admin token of this name and print it")
	_ = cmd.MarkFlagRequired("name")
	_ = cmd.MarkFlagRequired("role")
	return cmd
}

func staffSetCmd(client func() (*adminClient, error)) *cobra.Command {
	var role, state, email, language string
	var tenants []string
	cmd := &cobra.Command{Use: "set NAME", Short: "Change a member's role, tenants, state, e-mail or language", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var in admin.StaffInput
			f := cmd.Flags()
			if f.Changed("role") {
				r := staff.Role(role)
				in.Role = &r
			}
			if f.Changed("state") {
				s := staff.State(state)
				in.State = &s
			}
			if f.Changed("email") {
				in.Email = &email
			}
			if f.Changed("language") {
				in.Language = &language
			}
			if f.Changed("tenant") {
				in.Tenants = &tenants
			}
			var m staff.Member
			if err := c.do(cmd.Context(), http.MethodPatch, staffPath(args[0]), in, &m); err != nil {
				return err
			}
			return c.print(m)
		}}
	cmd.Flags().StringVar(&role, "role", "", "admin, policy, reviewer, auditor or viewer")
	cmd.Flags().StringVar(&state, "state", "", "active or disabled (disabling ends the member's sessions)")
	cmd.Flags().StringVar(&email, "email", "", "e-mail address")
	cmd.Flags().StringVar(&language, "language", "", "console language: zh-CN, en, or empty for the browser's")
	cmd.Flags().StringSliceVar(&tenants, "tenant", nil, "limit the role to these tenant ids (an empty value: all)")
	return cmd
}

func staffPasswordCmd(client func() (*adminClient, error)) *cobra.Command {
	var pwFile string
	cmd := &cobra.Command{Use: "password NAME", Short: "Set a member's console password (ends its sessions and revokes its tokens)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			pw, err := readPassword(cmd, pwFile)
			if err != nil {
				return err
			}
			if err := c.do(cmd.Context(), http.MethodPost, staffPath(args[0])+"/password", admin.PasswordInput{Password: pw}, nil); err != nil {
				return err
			}
			_, err = fmt.Fprintf(c.out, "password of %s set\n", args[0])
			return err
		}}
	cmd.Flags().StringVar(&pwFile, "password-file", "-", "file holding the password, or - for standard input")
	return cmd
}

func staffSimpleCmd(client func() (*adminClient, error), use, short, method, suffix string) *cobra.Command {
	return &cobra.Command{Use: use, Short: short, Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			if err := c.do(cmd.Context(), method, staffPath(args[0])+suffix, nil, nil); err != nil {
				return err
			}
			_, err = fmt.Fprintf(c.out, "%s: done\n", args[0])
			return err
		}}
}

func staffWhoamiCmd(client func() (*adminClient, error)) *cobra.Command {
	return &cobra.Command{Use: "whoami", Short: "Show the member the admin token belongs to", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var me admin.Me
			if err := c.do(cmd.Context(), http.MethodGet, "/me", nil, &me); err != nil {
				return err
			}
			if c.json {
				return c.print(me)
			}
			_, err = fmt.Fprintf(c.out, "%s (%s) via %s\n", me.Member.Name, me.Member.Role, me.Via)
			return err
		}}
}

func staffTokensCmd(client func() (*adminClient, error)) *cobra.Command {
	cmd := &cobra.Command{Use: "tokens", Short: "List, issue and revoke personal admin tokens"}
	// base is the path of a member's tokens: their own without a name.
	base := func(args []string) string {
		if len(args) == 0 {
			return "/me/tokens"
		}
		return staffPath(args[0]) + "/tokens"
	}
	cmd.AddCommand(&cobra.Command{Use: "list [NAME]", Short: "List a member's tokens (yours without NAME)", Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var out struct{ Data []staff.Token }
			if err := c.do(cmd.Context(), http.MethodGet, base(args), nil, &out); err != nil {
				return err
			}
			if c.json {
				return c.print(out.Data)
			}
			tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tCREATED\tEXPIRES\tLAST USED\tREVOKED")
			for _, t := range out.Data {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%v\n", t.ID, t.Name, day(t.CreatedAt), day(t.ExpiresAt), day(t.LastUsedAt), t.Revoked)
			}
			return tw.Flush()
		}})
	var name string
	var ttl time.Duration
	create := &cobra.Command{Use: "create [NAME]", Short: "Issue a token for a member (yourself without NAME)", Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var out admin.TokenCreated
			if err := c.do(cmd.Context(), http.MethodPost, base(args), admin.TokenInput{Name: name, TTL: config.Duration(ttl)}, &out); err != nil {
				return err
			}
			if c.json {
				return c.print(out)
			}
			_, err = fmt.Fprintf(c.out, "token %s (shown only now): %s\n", out.Token.ID, out.Secret)
			return err
		}}
	create.Flags().StringVar(&name, "name", "", "what the token is for")
	create.Flags().DurationVar(&ttl, "ttl", 0, "lifetime (default: until revoked)")
	cmd.AddCommand(create, &cobra.Command{Use: "revoke NAME ID", Short: "Revoke a member's token", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			if err := c.do(cmd.Context(), http.MethodDelete, staffPath(args[0])+"/tokens/"+url.PathEscape(args[1]), nil, nil); err != nil {
				return err
			}
			_, err = fmt.Fprintf(c.out, "token %s revoked\n", args[1])
			return err
		}})
	return cmd
}

func day(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02")
}
