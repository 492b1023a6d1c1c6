package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/notify"
)

// newBootstrapTokenCmd issues a new bootstrap admin token on the database
// itself: the way back in when the token printed at first start was lost
// and no admin can log in.
func newBootstrapTokenCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bootstrap-token",
		Short: "Issue a new bootstrap admin token (works on the database directly)",
		Long: `Issue a new bootstrap admin token, replacing the one printed at first start
(which stops working, on running servers too, within seconds). Run it where
the server keeps its data folder (or give --data or --database): it needs no
running server and no other credential, only access to the database.

The bootstrap token can only create staff admins:

  FIREBREAK_ADMIN_TOKEN=fba_… firebreak staff create --name alice --role admin ...`,
		Args: cobra.NoArgs,
	}
	cfgOf := offlineFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := cfgOf()
		if err != nil {
			return err
		}
		ctx := cmd.Context()
		db, err := openExisting(ctx, cfg)
		if err != nil {
			return err
		}
		defer db.Close()
		// Published on the change bus, so running replicas drop the old
		// token from their caches.
		bus, err := notify.Open(ctx, db, notify.Options{})
		if err != nil {
			return err
		}
		defer bus.Close()
		accounts, err := account.New(account.Options{DB: db, Bus: bus})
		if err != nil {
			return err
		}
		defer accounts.Close()
		token, err := accounts.RotateAdminToken(ctx)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(cmd.OutOrStdout(), "New bootstrap admin token (shown only now, stored only as a hash):\n\n  %s\n", token)
		return err
	}
	return cmd
}
