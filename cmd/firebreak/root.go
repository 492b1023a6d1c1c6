package main

import (
	"fmt"
	"io"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=…"; otherwise
// it comes from the module's build information.
var version = ""

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "firebreak",
		Short:         "A safety and compliance gateway for generative-AI services",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(
		newServeCmd(),
		newBootstrapTokenCmd(),
		newVersionCmd(),
		newScanCmd(),
		newTenantsCmd(),
		newKeysCmd(),
		newUsersCmd(),
		newUpstreamsCmd(),
		newModelsCmd(),
		newRoutingCmd(),
		newAuditCmd(),
		newPolicyCmd(),
		newSanctionsCmd(),
		newBlacklistCmd(),
		newComplaintsCmd(),
		newRecordsCmd(),
		newLabelCmd(),
		newStaffCmd(),
		newBankCmd(),
		newEvalCmd(),
		newCorpusCmd(),
		newKBCmd(),
		newRectifyCmd(),
	)
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), "firebreak", buildVersion())
			return err
		},
	}
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		v := bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return v + " (" + s.Value[:12] + ")"
			}
		}
		return v
	}
	return "(devel)"
}
