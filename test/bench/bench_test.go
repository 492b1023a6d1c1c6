package bench_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/firebreak/firebreak/internal/cputime"
)

func TestSummarise(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		var out []time.Duration
		for _, n := range ns {
			out = append(out, time.Duration(n)*time.Millisecond)
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i // reversed: summarise must sort
	}
	tests := []struct {
		name string
		in   []time.Duration
		want dist
	}{
		{"empty", nil, dist{}},
		{"one", ms(7), dist{n: 1, p50: 7 * time.Millisecond, p90: 7 * time.Millisecond, p99: 7 * time.Millisecond, max: 7 * time.Millisecond, avg: 7 * time.Millisecond}},
		{"hundred", ms(hundred...), dist{n: 100, p50: 50 * time.Millisecond, p90: 90 * time.Millisecond, p99: 99 * time.Millisecond, max: 100 * time.Millisecond, avg: 50500 * time.Microsecond}},
		{"outlier", ms(1, 1, 1, 1, 1000), dist{n: 5, p50: time.Millisecond, p90: time.Second, p99: time.Second, max: time.Second, avg: 200800 * time.Microsecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := summarise(tt.in); got != tt.want {
				t.Errorf("summarise = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestLoadSmoke runs a small load and a stream through every side, so the
// normal test run proves the report would measure working requests.
func TestLoadSmoke(t *testing.T) {
	sd := setup(t, 4)
	for _, tg := range sd.all() {
		t.Run(tg.name, func(t *testing.T) {
			samples, _ := run(t.Context(), tg, load{rate: 500, requests: 40, workers: 4}, chatBody)
			assertNoErrors(t, tg.name, samples)
			for i, s := range samples {
				if s.latency <= 0 {
					t.Fatalf("request %d has no latency", i)
				}
			}
			st, err := stream(t.Context(), tg, streamBody(0, false))
			checkStream(t, "stream", tg, st, err)
			if !(0 < st.firstByte && st.firstByte <= st.firstContent && st.firstContent <= st.total) {
				t.Errorf("stream times out of order: %+v", st)
			}
		})
	}
	// 40 chat requests and one stream per side reached an upstream: the
	// full stack's upstream serves direct and gateway, the other no audit.
	for i, want := range []int{2 * 41, 41} {
		if got := len(sd.stacks[i].Upstream.Requests()); got != want {
			t.Errorf("upstream %d saw %d requests, want %d", i, got, want)
		}
	}
}

// BenchmarkChat is one non-streamed chat completion at a time.
func BenchmarkChat(b *testing.B) {
	sd := setup(b, 1)
	for _, tg := range sd.all() {
		b.Run(tg.name, func(b *testing.B) {
			i := 0
			start := cputime.Process()
			for b.Loop() {
				if err := chat(b.Context(), tg, chatBody(i)); err != nil {
					b.Fatal(err)
				}
				i++
			}
			cputime.Report(b, start, 0)
		})
	}
}

// BenchmarkChatConcurrent is non-streamed chat completions from 64
// clients at once, as the throughput report's c=64 rounds send them: the
// CPU per request (cpu-ns/op, whole process) and a CPU profile of the
// gateway at that load (-cpuprofile, -tagfocus side=…) come from here.
func BenchmarkChatConcurrent(b *testing.B) {
	concurrently(b, 64, func(ctx context.Context, tg target, i int) error {
		return chat(ctx, tg, chatBody(i))
	})
}

// BenchmarkStreamConcurrent is 50-delta streams from 16 clients at once,
// as the throughput report's c=16 stream rounds send them (CPU per stream,
// whole process; a CPU profile of the gateway at that load).
func BenchmarkStreamConcurrent(b *testing.B) {
	concurrently(b, 16, func(ctx context.Context, tg target, i int) error {
		st, err := stream(ctx, tg, streamBody(i, false))
		if err == nil && !strings.HasPrefix(st.text, streamText) {
			err = fmt.Errorf("stream %d: answer %q", i, st.text)
		}
		return err
	})
}

// concurrently runs send on every side from clients goroutines at once
// and reports the process's CPU per operation.
func concurrently(b *testing.B, clients int, send func(ctx context.Context, tg target, i int) error) {
	sd := setup(b, clients)
	for _, tg := range sd.all() {
		b.Run(tg.name, func(b *testing.B) {
			var next atomic.Int64
			b.SetParallelism((clients + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			start := cputime.Process()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := send(b.Context(), tg, int(next.Add(1))); err != nil {
						b.Error(err)
						return
					}
				}
			})
			cputime.Report(b, start, 0)
		})
	}
}

// BenchmarkStream is one 50-delta streamed chat completion at a time; it
// reports the time to the first content delta besides the total.
func BenchmarkStream(b *testing.B) {
	sd := setup(b, 1)
	for _, tg := range sd.all() {
		b.Run(tg.name, func(b *testing.B) {
			var first time.Duration
			i := 0
			start := cputime.Process()
			for b.Loop() {
				st, err := stream(b.Context(), tg, streamBody(i, false))
				checkStream(b, "stream", tg, st, err)
				first += st.firstContent
				i++
			}
			cputime.Report(b, start, 0)
			b.ReportMetric(float64(first.Microseconds())/float64(i), "µs-first-content/op")
		})
	}
}
