package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/firebreak/firebreak/admin"
)

func newTenantsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "tenants", Short: "Manage tenants (the apps or customers that hold API keys)"}
	client := adminFlags(cmd)
	cmd.AddCommand(&cobra.Command{
		Use: "list", Short: "List tenants", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var out struct{ Data []admin.Tenant }
			if err := c.do(cmd.Context(), http.MethodGet, "/tenants", nil, &out); err != nil {
				return err
			}
			if c.json {
				return c.print(out.Data)
			}
			tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tDEFAULT MODEL\tMODELS\tDISABLED")
			for _, t := range out.Data {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\n", t.ID, t.Name, t.DefaultModel, orAll(t.Models), t.Disabled)
			}
			return tw.Flush()
		},
	})
	var in tenantFlags
	create := &cobra.Command{
		Use: "create NAME", Short: "Create a tenant", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			body := in.input(cmd)
			body.Name = &args[0]
			var t admin.Tenant
			if err := c.do(cmd.Context(), http.MethodPost, "/tenants", body, &t); err != nil {
				return err
			}
			return c.print(t)
		},
	}
	in.bind(create)
	var up tenantFlags
	update := &cobra.Command{
		Use: "update TENANT", Short: "Change a tenant's settings (only the flags given)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var t admin.Tenant
			if err := c.do(cmd.Context(), http.MethodPatch, "/tenants/"+url.PathEscape(args[0]), up.input(cmd), &t); err != nil {
				return err
			}
			return c.print(t)
		},
	}
	up.bind(update)
	cmd.AddCommand(create, update, removeCmd(client, "delete TENANT", "Delete a tenant with its keys and end users",
		"tenants", "tenant"))
	return cmd
}

// tenantFlags are the settable fields of a tenant; input sends only those
// whose flag was given.
type tenantFlags struct {
	defaultModel string
	models       []string
	limits       limitFlags
	disabled     bool
}

func (f *tenantFlags) bind(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.defaultModel, "default-model", "", "model for requests that name none")
	cmd.Flags().StringSliceVar(&f.models, "models", nil, "allowed public models (default all)")
	cmd.Flags().BoolVar(&f.disabled, "disabled", false, "disable every key of the tenant")
	f.limits.bind(cmd, "user-")
}

func (f *tenantFlags) input(cmd *cobra.Command) admin.TenantInput {
	var in admin.TenantInput
	if cmd.Flags().Changed("default-model") {
		in.DefaultModel = &f.defaultModel
	}
	if cmd.Flags().Changed("models") {
		in.Models = &f.models
	}
	if cmd.Flags().Changed("disabled") {
		in.Disabled = &f.disabled
	}
	if f.limits.changed(cmd, "user-") {
		l := f.limits.value()
		in.UserLimits = &l
	}
	return in
}

// limitFlags bind the four limits under a name prefix.
type limitFlags struct {
	rpm, concurrent, tpm int
	quota                int64
}

func (f *limitFlags) bind(cmd *cobra.Command, prefix string) {
	who := "per key"
	if prefix != "" {
		who = "per end user"
	}
	cmd.Flags().IntVar(&f.rpm, prefix+"rpm", 0, "requests per minute "+who+" (0 = unlimited)")
	cmd.Flags().IntVar(&f.concurrent, prefix+"concurrent", 0, "requests in flight "+who+" (0 = unlimited)")
	cmd.Flags().IntVar(&f.tpm, prefix+"tpm", 0, "tokens per minute "+who+" (0 = unlimited)")
	cmd.Flags().Int64Var(&f.quota, prefix+"token-quota", 0, "total tokens "+who+" (0 = unlimited)")
}

func (f *limitFlags) changed(cmd *cobra.Command, prefix string) bool {
	for _, n := range []string{"rpm", "concurrent", "tpm", "token-quota"} {
		if cmd.Flags().Changed(prefix + n) {
			return true
		}
	}
	return false
}

func (f *limitFlags) value() admin.Limits {
	return admin.Limits{RPM: f.rpm, Concurrent: f.concurrent, TPM: f.tpm, TokenQuota: f.quota}
}

func orAll(models []string) string {
	if len(models) == 0 {
		return "(all)"
	}
	return strings.Join(models, ",")
}

func newKeysCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Manage API keys"}
	client := adminFlags(cmd)
	cmd.AddCommand(&cobra.Command{
		Use: "list TENANT", Short: "List a tenant's keys", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var out struct{ Data []admin.Key }
			if err := c.do(cmd.Context(), http.MethodGet, "/tenants/"+url.PathEscape(args[0])+"/keys", nil, &out); err != nil {
				return err
			}
			if c.json {
				return c.print(out.Data)
			}
			tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tPREFIX\tMODELS\tSTATE\tCREATED")
			for _, k := range out.Data {
				fmt.Fprintf(tw, "%s\t%s\t%s…\t%s\t%s\t%s\n", k.ID, k.Name, k.Prefix, orAll(k.Models), keyState(k), k.CreatedAt.Format(time.DateTime))
			}
			return tw.Flush()
		},
	})
	var name string
	var models []string
	var limits limitFlags
	var expires time.Duration
	var endUser string
	create := &cobra.Command{
		Use: "create TENANT", Short: "Create an API key (shown once)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			in := admin.KeyInput{Name: name, Models: models, Limits: limits.value(), EndUser: endUser}
			if expires > 0 {
				t := time.Now().Add(expires)
				in.ExpiresAt = &t
			}
			var k admin.Key
			if err := c.do(cmd.Context(), http.MethodPost, "/tenants/"+url.PathEscape(args[0])+"/keys", in, &k); err != nil {
				return err
			}
			if c.json {
				return c.print(k)
			}
			fmt.Fprintf(c.out, "Created key %s. It is shown only now:\n\n  %s\n", k.ID, k.Secret)
			return nil
		},
	}
	create.Flags().StringVar(&name, "name", "", "a label for the key")
	create.Flags().StringSliceVar(&models, "models", nil, "allowed public models (default all the tenant's)")
	create.Flags().DurationVar(&expires, "expires", 0, "expire after this long, e.g. 720h (default never)")
	create.Flags().StringVar(&endUser, "end-user", "", "make a key of one end user (the operator's id for them); default a service key")
	limits.bind(create, "")
	cmd.AddCommand(create, removeCmd(client, "revoke KEY_ID", "Revoke a key at once", "keys", "key"))
	return cmd
}

func keyState(k admin.Key) string {
	switch {
	case k.RevokedAt != nil:
		return "revoked"
	case k.ExpiresAt != nil && k.ExpiresAt.Before(time.Now()):
		return "expired"
	}
	return "active"
}

func newUsersCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "users", Short: "List end users"}
	client := adminFlags(cmd)
	cmd.AddCommand(&cobra.Command{
		Use: "list TENANT", Short: "List a tenant's end users", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var out struct{ Data []admin.User }
			if err := c.do(cmd.Context(), http.MethodGet, "/tenants/"+url.PathEscape(args[0])+"/users", nil, &out); err != nil {
				return err
			}
			if c.json {
				return c.print(out.Data)
			}
			tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tEXTERNAL ID\tSTATUS\tLAST SEEN")
			for _, u := range out.Data {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.ID, u.ExternalID, u.Status, u.LastSeenAt.Format(time.DateTime))
			}
			return tw.Flush()
		},
	})
	return cmd
}
