package main

import (
	"encoding/json"
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
	"github.com/firebreak/firebreak/config"
	"github.com/firebreak/firebreak/sanction"
)

// userPath is the admin path of an end user: the operator's user id within
// a tenant (id or name).
func userPath(tenant, user string) string {
	return "/tenants/" + url.PathEscape(tenant) + "/users/" + url.PathEscape(user)
}

func newSanctionsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sanctions",
		Short: "Show, impose and lift sanctions on end users (warn, restrict, suspend, terminate)",
		Long: `Sanctions are what Art. 14 of the Interim Measures asks of a provider whose
users break the law or the service agreement: warn, restrict functions,
suspend or terminate the service, and keep records. The ladder imposes them
automatically on repeated violations; these commands show a user's standing
and let a person impose or lift one, with a reason on record.

A user is named by the tenant (id or name) and the operator's own user id,
the one the app sends as "user" in chat requests.`,
	}
	client := adminFlags(cmd)
	cmd.AddCommand(sanctionsShowCmd(client), sanctionsImposeCmd(client), sanctionsLiftCmd(client))
	return cmd
}

// standingView is admin.Standing as the CLI reads it.
type standingView struct {
	User       admin.User        `json:"user"`
	Standing   sanction.Action   `json:"standing"`
	Until      *time.Time        `json:"until"`
	Sanctions  []admin.Sanction  `json:"sanctions"`
	Violations []admin.Violation `json:"violations"`
}

func sanctionsShowCmd(client func() (*adminClient, error)) *cobra.Command {
	return &cobra.Command{
		Use:     "show TENANT USER",
		Short:   "Show a user's standing, sanctions history and recent violations",
		Example: "  firebreak sanctions show default u-1024",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var raw json.RawMessage
			if err := c.do(cmd.Context(), http.MethodGet, userPath(args[0], args[1]), nil, &raw); err != nil {
				return err
			}
			if c.json {
				return c.print(raw)
			}
			var st standingView
			if err := json.Unmarshal(raw, &st); err != nil {
				return fmt.Errorf("read standing: %w", err)
			}
			return printStanding(c.out, &st)
		},
	}
}

func printStanding(w io.Writer, st *standingView) error {
	until := ""
	if st.Standing != sanction.None {
		until = " until lifted"
		if st.Until != nil {
			until = " until " + st.Until.Format(time.DateTime)
		}
	}
	fmt.Fprintf(w, "User:      %s (id %s, %s)\nStanding:  %s%s\n\n", st.User.ExternalID, st.User.ID, st.User.Status, st.Standing, until)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SANCTION\tACTION\tSTATE\tCREATED\tEXPIRES\tBY\tREASON")
	now := time.Now()
	for _, s := range st.Sanctions {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, sanctionAction(s), sanctionState(s, now),
			s.CreatedAt.Format(time.DateTime), timeOr(s.ExpiresAt, "never"), s.Actor, oneLine(s.Reason))
	}
	if len(st.Sanctions) == 0 {
		fmt.Fprintln(tw, "(none)")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VIOLATION\tCODE\tDIRECTION\tSOURCE\tTIME\tBY\tEVIDENCE")
	for _, v := range st.Violations {
		fmt.Fprintf(tw, "#%d\t%s\t%s\t%s\t%s\t%s\t%s\n", v.Seq, v.Code, v.Direction, v.Source, v.Time.Format(time.DateTime),
			v.Actor, strings.Join(v.Evidence, ","))
	}
	if len(st.Violations) == 0 {
		fmt.Fprintln(tw, "(none)")
	}
	return tw.Flush()
}

// sanctionAction names the action with what a restriction still allows.
func sanctionAction(s admin.Sanction) string {
	r := s.Restrict
	if s.Action != sanction.Restrict || (r.RPM == 0 && len(r.Models) == 0) {
		return s.Action.String()
	}
	var parts []string
	if r.RPM > 0 {
		parts = append(parts, strconv.Itoa(r.RPM)+" rpm")
	}
	if len(r.Models) > 0 {
		parts = append(parts, "models "+strings.Join(r.Models, ","))
	}
	return "restrict (" + strings.Join(parts, "; ") + ")"
}

func sanctionState(s admin.Sanction, now time.Time) string {
	switch {
	case s.LiftedAt != nil:
		return "lifted by " + s.LiftedBy
	case s.ExpiresAt != nil && !now.Before(*s.ExpiresAt):
		return "expired"
	}
	return "active"
}

func timeOr(t *time.Time, none string) string {
	if t == nil || t.IsZero() {
		return none
	}
	return t.Format(time.DateTime)
}

// oneLine keeps a free-text field on one table row.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func sanctionsImposeCmd(client func() (*adminClient, error)) *cobra.Command {
	var action, reason string
	var dur time.Duration
	var rpm int
	var models []string
	cmd := &cobra.Command{
		Use:   "impose TENANT USER --action warn|restrict|suspend|terminate --reason TEXT",
		Short: "Impose a sanction on a user by hand",
		Long: `Impose a sanction on a user at once, on every replica. A user not seen yet
is created, so a user can be sanctioned before their first request.

  warn       tell the user; nothing is withheld
  restrict   limit requests per minute (--restrict-rpm) and models (--restrict-models)
  suspend    refuse every request until the sanction ends (--for) or is lifted
  terminate  refuse every request until a person lifts it (--for is ignored)`,
		Example: `  firebreak sanctions impose default u-1024 --action suspend --for 168h --reason "complaint c01J… upheld"
  firebreak sanctions impose default u-1024 --action restrict --restrict-rpm 5 --restrict-models general --reason "spam"`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, err := imposeInput(action, reason, dur, rpm, models)
			if err != nil {
				return err
			}
			c, err := client()
			if err != nil {
				return err
			}
			var s admin.Sanction
			if err := c.do(cmd.Context(), http.MethodPost, userPath(args[0], args[1])+"/sanctions", in, &s); err != nil {
				return err
			}
			if c.json {
				return c.print(s)
			}
			_, err = fmt.Fprintf(c.out, "Imposed %s on %s (sanction %s, expires %s).\n", s.Action, args[1], s.ID, timeOr(s.ExpiresAt, "never"))
			return err
		},
	}
	cmd.Flags().StringVar(&action, "action", "", "warn, restrict, suspend or terminate (required)")
	cmd.Flags().StringVar(&reason, "reason", "", "why, as it goes on record (required)")
	cmd.Flags().DurationVar(&dur, "for", 0, "how long it stands, e.g. 168h (default until lifted)")
	cmd.Flags().IntVar(&rpm, "restrict-rpm", 0, "with --action restrict: requests per minute allowed (0 = not limited)")
	cmd.Flags().StringSliceVar(&models, "restrict-models", nil, "with --action restrict: the only models allowed (default all)")
	_ = cmd.MarkFlagRequired("action")
	_ = cmd.MarkFlagRequired("reason")
	return cmd
}

// imposeInput checks the impose flags before anything is sent.
func imposeInput(action, reason string, dur time.Duration, rpm int, models []string) (admin.ImposeInput, error) {
	a, err := sanction.ParseAction(action)
	if err != nil || a == sanction.None {
		return admin.ImposeInput{}, fmt.Errorf("--action %q: want warn, restrict, suspend or terminate", action)
	}
	switch {
	case strings.TrimSpace(reason) == "":
		return admin.ImposeInput{}, errors.New("--reason is required: it goes on the user's record")
	case dur < 0:
		return admin.ImposeInput{}, errors.New("--for must be positive")
	case rpm < 0:
		return admin.ImposeInput{}, errors.New("--restrict-rpm must not be negative")
	case a != sanction.Restrict && (rpm != 0 || len(models) > 0):
		return admin.ImposeInput{}, errors.New("--restrict-rpm and --restrict-models go with --action restrict")
	}
	return admin.ImposeInput{Action: a, Duration: config.Duration(dur), Reason: reason,
		Restrict: sanction.Restriction{RPM: rpm, Models: models}}, nil
}

func sanctionsLiftCmd(client func() (*adminClient, error)) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:     "lift SANCTION_ID --reason TEXT",
		Short:   "Lift a sanction, e.g. on appeal",
		Example: `  firebreak sanctions lift snc_01J… --reason "appeal accepted"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(reason) == "" {
				return errors.New("--reason is required: it goes on the user's record")
			}
			c, err := client()
			if err != nil {
				return err
			}
			var s admin.Sanction
			if err := c.do(cmd.Context(), http.MethodPost, "/sanctions/"+url.PathEscape(args[0])+"/lift", admin.LiftInput{Reason: reason}, &s); err != nil {
				return err
			}
			if c.json {
				return c.print(s)
			}
			_, err = fmt.Fprintf(c.out, "Lifted %s %s of user %s.\n", s.Action, s.ID, s.EndUserID)
			return err
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why, as it goes on record (required)")
	_ = cmd.MarkFlagRequired("reason")
	return cmd
}

func newBlacklistCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "blacklist",
		Short: "List, add and remove blacklist entries (users, addresses, devices, phone and ID numbers)",
		Long: `A blacklisted user, IP address or prefix, device, phone number or identity
number is refused on every replica at once. An entry applies to one tenant
(--tenant) or to all. Phone and identity numbers are sent in plain and stored
only as a keyed hash, so a listing shows the hash.`,
	}
	client := adminFlags(cmd)
	cmd.AddCommand(blacklistListCmd(client), blacklistAddCmd(client), blacklistRemoveCmd(client))
	return cmd
}

func blacklistListCmd(client func() (*adminClient, error)) *cobra.Command {
	var tenant, kind string
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List blacklist entries",
		Example: "  firebreak blacklist list --tenant default --kind device",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			q := url.Values{}
			setIf(q, "tenant", tenant)
			setIf(q, "kind", kind)
			var out struct{ Data []admin.BlacklistEntry }
			if err := c.do(cmd.Context(), http.MethodGet, "/blacklist?"+q.Encode(), nil, &out); err != nil {
				return err
			}
			if c.json {
				return c.print(out.Data)
			}
			tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tTENANT\tKIND\tVALUE\tEXPIRES\tBY\tREASON")
			for _, e := range out.Data {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.ID, firstSet(e.Tenant, "(all)"), e.Kind, e.Value,
					timeOr(e.ExpiresAt, "never"), e.CreatedBy, oneLine(e.Reason))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&tenant, "tenant", "", "only this tenant's entries (id or name; default all, including global ones)")
	cmd.Flags().StringVar(&kind, "kind", "", "only this kind: user, ip, device, phone or id_number")
	return cmd
}

func setIf(q url.Values, key, val string) {
	if val != "" {
		q.Set(key, val)
	}
}

func blacklistAddCmd(client func() (*adminClient, error)) *cobra.Command {
	var in admin.BlacklistEntry
	var kind string
	var expires time.Duration
	cmd := &cobra.Command{
		Use:   "add --kind KIND --value V --reason TEXT",
		Short: "Blacklist a user, address, device, phone or identity number",
		Example: `  firebreak blacklist add --kind device --value 9f2c-… --reason "fraud ring" --tenant default
  firebreak blacklist add --kind ip --value 203.0.113.0/24 --reason "abuse" --expires 720h
  firebreak blacklist add --kind phone --value 13800138000 --reason "court order"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if expires < 0 {
				return errors.New("--expires must be positive")
			}
			c, err := client()
			if err != nil {
				return err
			}
			in.Kind = sanction.Kind(kind)
			if expires > 0 {
				t := time.Now().Add(expires)
				in.ExpiresAt = &t
			}
			var e admin.BlacklistEntry
			if err := c.do(cmd.Context(), http.MethodPost, "/blacklist", in, &e); err != nil {
				return err
			}
			if c.json {
				return c.print(e)
			}
			_, err = fmt.Fprintf(c.out, "Blacklisted %s %s (entry %s, expires %s).\n", e.Kind, e.Value, e.ID, timeOr(e.ExpiresAt, "never"))
			return err
		},
	}
	cmd.Flags().StringVar(&kind, "kind", "", "user, ip, device, phone or id_number (required)")
	cmd.Flags().StringVar(&in.Value, "value", "", "the user id, IP address or prefix, device id, or plain phone or ID number (required)")
	cmd.Flags().StringVar(&in.Reason, "reason", "", "why, as it goes on record (required)")
	cmd.Flags().StringVar(&in.Tenant, "tenant", "", "only for this tenant (id or name; default every tenant)")
	cmd.Flags().DurationVar(&expires, "expires", 0, "expire after this long, e.g. 720h (default never)")
	for _, f := range []string{"kind", "value", "reason"} {
		_ = cmd.MarkFlagRequired(f)
	}
	return cmd
}

func blacklistRemoveCmd(client func() (*adminClient, error)) *cobra.Command {
	return &cobra.Command{
		Use:     "remove ID",
		Short:   "Remove a blacklist entry at once",
		Example: "  firebreak blacklist remove blk_01J…",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			if err := c.do(cmd.Context(), http.MethodDelete, "/blacklist/"+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			if c.json {
				return c.print(map[string]string{"removed": args[0]})
			}
			_, err = fmt.Fprintf(c.out, "Removed %s.\n", args[0])
			return err
		},
	}
}
