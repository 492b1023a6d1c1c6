//go:build unix

package cputime

import "testing"

func TestProcessAdvances(t *testing.T) {
	start := Process()
	x := 0
	for i := range 50_000_000 {
		x += i % 7
	}
	if Process() <= start || x == 0 {
		t.Fatalf("process CPU time did not advance: %v → %v", start, Process())
	}
}
