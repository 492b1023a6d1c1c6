//go:build !linux

package sandbox

import "context"

func run(context.Context, []string, string, Limits) (Result, error) {
	return Result{}, ErrNoIsolation
}
