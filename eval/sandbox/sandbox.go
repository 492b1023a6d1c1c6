// Package sandbox runs untrusted code (a model's answer with an item's
// tests) in a separate process with no network, and with CPU time,
// memory, file size, process and wall-clock limits. On Linux the process
// gets new user and network namespaces (only a loopback device, down) and
// resource limits set by the shell's ulimit before the interpreter
// starts; its environment is empty and its working folder a fresh
// temporary one. Where isolation cannot be had, Run refuses: code is never
// run without it.
package sandbox

import (
	"context"
	"errors"
	"time"
)

// Limits bound one run. The zero value means the defaults.
type Limits struct {
	CPU    time.Duration // CPU time; default 5s
	Wall   time.Duration // wall-clock time; default 10s
	Memory int64         // address space in bytes; default 512 MiB
	Output int64         // largest file written and output kept, bytes; default 1 MiB
	Procs  int           // processes of the sandbox's user; default 64
}

func (l Limits) withDefaults() Limits {
	if l.CPU == 0 {
		l.CPU = 5 * time.Second
	}
	if l.Wall == 0 {
		l.Wall = 10 * time.Second
	}
	if l.Memory == 0 {
		l.Memory = 512 << 20
	}
	if l.Output == 0 {
		l.Output = 1 << 20
	}
	if l.Procs == 0 {
		l.Procs = 64
	}
	return l
}

// Result is the outcome of one run.
type Result struct {
	Passed   bool          // exit status 0 within the limits
	ExitCode int           // -1 when killed
	Reason   string        // "ok", "exit status N", "wall-clock limit", "killed by signal …"
	Output   string        // combined stdout and stderr, cut at Limits.Output
	Elapsed  time.Duration // wall-clock time
}

// ErrNoIsolation is returned where the sandbox cannot isolate a process.
var ErrNoIsolation = errors.New("sandbox: process isolation is not available here")

// Interpreters maps a language to the interpreter run on the program file.
var Interpreters = map[string][]string{
	"python": {"python3", "-I", "-S"},
	"sh":     {"sh"},
}

// Run runs program, written in lang, in the sandbox.
func Run(ctx context.Context, lang, program string, l Limits) (Result, error) {
	argv, ok := Interpreters[lang]
	if !ok {
		return Result{}, errors.New("sandbox: unknown language " + lang)
	}
	return run(ctx, argv, program, l.withDefaults())
}
