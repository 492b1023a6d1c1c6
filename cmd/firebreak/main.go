// Command firebreak is a safety and compliance gateway for generative-AI
// services: `firebreak serve` runs it; the other subcommands manage it.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // time zones (identity.time_zone) on hosts without a zone database
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "firebreak:", err)
		os.Exit(1)
	}
}

// run is the whole program, testable: an end-to-end test calls it with
// "serve --listen 127.0.0.1:0 --data <temp dir>".
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}
