//go:build linux

package sandbox

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSandbox(t *testing.T) {
	// Wall-clock limits are generous but for the case that tests them: the
	// machine may be loaded, and CPU seconds then take longer.
	quick := Limits{CPU: time.Second, Wall: 60 * time.Second, Memory: 256 << 20}
	short := quick
	short.Wall = 2 * time.Second
	cases := []struct {
		name    string
		lang    string
		program string
		limits  Limits
		passed  bool
		reason  string
	}{
		{"passes", "python", "def add(a, b):\n    return a + b\nassert add(2, 3) == 5\n", quick, true, "ok"},
		{"failing test", "python", "def add(a, b):\n    return a - b\nassert add(2, 3) == 5\n", quick, false, "exit status 1"},
		{"busy loop hits the CPU limit", "python", "while True:\n    pass\n", quick, false, "CPU limit"},
		{"sleep hits the wall clock", "sh", "sleep 30\n", short, false, "wall-clock limit"},
		{"memory hog", "python", "x = bytearray(1 << 30)\n", quick, false, "exit status 1"},
		{"no network", "python", "import socket\ns = socket.create_connection(('127.0.0.1', 5432), timeout=2)\n", quick, false, "exit status 1"},
		{"no environment", "sh", "test -z \"$FIREBREAK_SECRET_PROBE\"\n", quick, true, "ok"},
	}
	t.Setenv("FIREBREAK_SECRET_PROBE", "visible")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := Run(context.Background(), c.lang, c.program, c.limits)
			if errors.Is(err, ErrNoIsolation) {
				t.Skip(err) // the refusal itself is the safe outcome
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Passed != c.passed || res.Reason != c.reason {
				t.Fatalf("passed %v reason %q, want %v %q; output:\n%s", res.Passed, res.Reason, c.passed, c.reason, res.Output)
			}
			if c.name == "memory hog" && !strings.Contains(res.Output, "MemoryError") {
				t.Errorf("memory hog output: %s", res.Output)
			}
			if c.name == "no network" && !strings.Contains(res.Output, "Network is unreachable") && !strings.Contains(res.Output, "Errno") {
				t.Errorf("network probe output: %s", res.Output)
			}
		})
	}
}
