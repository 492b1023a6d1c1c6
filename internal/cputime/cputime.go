// Package cputime reports the CPU time benchmarks use, beside wall time:
// on a shared machine CPU time varies less, since wall time includes
// waiting for a core.
package cputime

import (
	"testing"
	"time"
)

// Report adds the CPU time per operation since start (a Process reading
// taken before the loop), and the bytes per CPU second when bytes > 0.
func Report(b *testing.B, start time.Duration, bytes int) {
	b.Helper()
	cpu := Process() - start
	if cpu <= 0 || b.N == 0 {
		return
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	if bytes > 0 {
		b.ReportMetric(float64(bytes)*float64(b.N)/cpu.Seconds()/1e6, "cpu-MB/s")
	}
}
