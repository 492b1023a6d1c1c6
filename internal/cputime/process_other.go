//go:build !unix

package cputime

import "time"

// Process is 0 where the platform gives no process CPU time; Report then
// reports nothing.
func Process() time.Duration { return 0 }
