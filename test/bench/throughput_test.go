package bench_test

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/firebreak/firebreak/internal/cputime"
)

// closed sends n requests from c workers, each sending its next request
// as soon as its last answer is in (a closed loop: the side's own speed
// sets the rate), and returns their latencies and the wall time.
func closed(tg target, c, n int, send func(tg target, i int) error) ([]time.Duration, time.Duration, error) {
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var firstErr atomic.Pointer[error]
	start := time.Now()
	var wg sync.WaitGroup
	for range c {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || firstErr.Load() != nil {
					return
				}
				began := time.Now()
				if err := send(tg, i); err != nil {
					firstErr.CompareAndSwap(nil, &err)
					return
				}
				lat[i] = time.Since(began)
			}
		})
	}
	wg.Wait()
	if e := firstErr.Load(); e != nil {
		return nil, 0, *e
	}
	return lat, time.Since(start), nil
}

// round is one side's run at one concurrency.
type round struct {
	rate     float64       // requests per second
	p50, p99 time.Duration // latency of one request
	cpu      time.Duration // process CPU per request (load generator, upstream and the side)
}

// measure runs rounds of n requests at concurrency c on every side, the
// sides interleaved within each round so that load from other work on the
// machine falls on all of them alike.
func measure(t *testing.T, sd sides, c, n, rounds int, send func(tg target, i int) error) map[string][]round {
	t.Helper()
	out := map[string][]round{}
	for range rounds {
		for _, tg := range sd.all() {
			cpu := cputime.Process()
			lat, elapsed, err := closed(tg, c, n, send)
			used := cputime.Process() - cpu
			if err != nil {
				t.Fatalf("%s c=%d: %v", tg.name, c, err)
			}
			d := summarise(lat)
			out[tg.name] = append(out[tg.name], round{rate: float64(n) / elapsed.Seconds(), p50: d.p50, p99: d.p99,
				cpu: used / time.Duration(n)})
		}
	}
	return out
}

// TestThroughputReport measures each side in a closed loop at 1, 16 and
// 64 concurrent clients (non-streamed) and 1 and 16 (streams of 50
// deltas from the upstream), in interleaved rounds, and reports medians and ranges over the
// rounds: requests per second, the gateway's throughput as a share of the
// direct side's, latency, and the CPU the gateway adds per request and per
// stream chunk (the process's CPU on that side minus on the direct side,
// which carries the same load generator and upstream). Opt-in:
//
//	FIREBREAK_BENCH=1 go test ./test/bench -run TestThroughputReport -count=1 -v
//
// FIREBREAK_BENCH_ROUNDS (default 5) and FIREBREAK_BENCH_SCALE (default 1,
// multiplies the requests per round) change the amount.
func TestThroughputReport(t *testing.T) {
	if os.Getenv("FIREBREAK_BENCH") == "" {
		t.Skip("set FIREBREAK_BENCH=1 to run the throughput report")
	}
	rounds := envInt(t, "FIREBREAK_BENCH_ROUNDS", 5)
	scale := envInt(t, "FIREBREAK_BENCH_SCALE", 1)
	sd := setup(t, 64)
	chatOnce := func(tg target, i int) error { return chat(t.Context(), tg, chatBody(i)) }
	streamOnce := func(tg target, i int) error {
		st, err := stream(t.Context(), tg, streamBody(i, false))
		if err == nil && !strings.HasPrefix(st.text, streamText) {
			err = fmt.Errorf("stream %d: answer %q", i, st.text)
		}
		return err
	}
	for _, tg := range sd.all() { // warm-up: connections, caches, the audit chain
		if _, _, err := closed(tg, 64, 2000, chatOnce); err != nil {
			t.Fatal(err)
		}
	}
	var b strings.Builder
	for _, c := range []int{1, 16, 64} {
		n := scale * map[int]int{1: 1000, 16: 3000, 64: 6000}[c]
		res := measure(t, sd, c, n, rounds, chatOnce)
		report(&b, sd, fmt.Sprintf("non-stream, c=%d, %d requests per side and round", c, n), res, 1)
	}
	for _, c := range []int{1, 16} {
		n := scale * map[int]int{1: 200, 16: 800}[c]
		res := measure(t, sd, c, n, rounds, streamOnce)
		report(&b, sd, fmt.Sprintf("streams of %d deltas, c=%d, %d streams per side and round", streamChunks, c, n), res, streamChunks)
	}
	t.Logf("\n%d rounds, sides interleaved in each; median [min–max] over rounds\n%s", rounds, b.String())
}

// report writes one table: per side the median and range over rounds of
// the rate, latency and CPU, and for the gateways their rate as a share of
// direct and the CPU they add per request, and per chunk when chunks > 1.
func report(b *strings.Builder, sd sides, title string, res map[string][]round, chunks int) {
	fmt.Fprintf(b, "\n%s\n", title)
	fmt.Fprintf(b, "%-16s %-22s %-20s %-22s %-22s\n", "", "req/s", "share of direct", "p50 µs", "p99 µs")
	direct := res[sd.direct.name]
	for _, tg := range sd.all() {
		rs := res[tg.name]
		share := "-"
		if tg.name != sd.direct.name {
			share = spread(rs, func(i int, r round) float64 { return r.rate / direct[i].rate }, "%.2f")
		}
		fmt.Fprintf(b, "%-16s %-22s %-20s %-22s %-22s\n", tg.name,
			spread(rs, func(_ int, r round) float64 { return r.rate }, "%.0f"), share,
			spread(rs, func(_ int, r round) float64 { return float64(r.p50.Microseconds()) }, "%.0f"),
			spread(rs, func(_ int, r round) float64 { return float64(r.p99.Microseconds()) }, "%.0f"))
	}
	for _, tg := range sd.all()[1:] {
		rs := res[tg.name]
		fmt.Fprintf(b, "added by %-16s p50 %s µs; CPU %s µs per request", tg.name,
			spread(rs, func(i int, r round) float64 { return float64((r.p50 - direct[i].p50).Microseconds()) }, "%.0f"),
			spread(rs, func(i int, r round) float64 { return float64((r.cpu - direct[i].cpu).Nanoseconds()) / 1e3 }, "%.0f"))
		if chunks > 1 {
			fmt.Fprintf(b, ", %s µs per chunk",
				spread(rs, func(i int, r round) float64 {
					return float64((r.cpu - direct[i].cpu).Nanoseconds()) / 1e3 / float64(chunks)
				}, "%.1f"))
		}
		b.WriteString("\n")
	}
}

// spread is "median [min–max]" of f over the rounds.
func spread(rs []round, f func(i int, r round) float64, format string) string {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(i, r)
	}
	slices.Sort(v)
	return fmt.Sprintf(format+" ["+format+"–"+format+"]", v[len(v)/2], v[0], v[len(v)-1])
}
