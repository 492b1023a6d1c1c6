package bench_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/internal/fakeupstream"
	"github.com/firebreak/firebreak/test/stack"
)

// The prompt and answers of the measured traffic: short, mixed Chinese and
// English, clean (review reads them all and lets them through).
const (
	prompt      = "请用两三句话介绍一下长城的历史。Please keep the answer short."
	shortAnswer = "The Great Wall was built and rebuilt over two thousand years. 长城是古代中国的防御工程。"
	// streamChunks is the number of content deltas of a streamed answer.
	streamChunks = 50
	// endUsers is how many end users the requests rotate over.
	endUsers = 100
	// pacedMarker in a prompt asks the upstream to send one delta per
	// pacedDelay, as a model generating tokens does, instead of all at once.
	pacedMarker = "(paced)"
	pacedDelay  = time.Millisecond
)

var streamWords = strings.Fields("the wall runs across mountains and deserts 长城 横跨 山脉 与 沙漠 " +
	"and its watchtowers sent smoke signals from one post to the next 烽火台 传递 信号")

// streamReply is the upstream's 50-delta streamed answer.
func streamReply() []string {
	out := make([]string, streamChunks)
	for i := range out {
		out[i] = streamWords[i%len(streamWords)] + " "
	}
	return out
}

// streamText is the whole streamed answer, as a client must receive it.
var streamText = strings.Join(streamReply(), "")

// sides is the same upstream reached straight and through the gateway.
type sides struct {
	direct, gateway target
	stack           *stack.Stack
}

// setup starts a stack as `firebreak serve` builds it — SQLite, key auth,
// key and end-user limits (high enough never to refuse), input and output
// review with the starter lexicon and PII detectors, router, a text request
// log (discarded) — and one keep-alive client per side.
func setup(tb testing.TB, conns int) sides {
	tb.Helper()
	chunks := streamReply()
	big := account.Limits{RPM: 10_000_000, Concurrent: 10_000, TPM: 1_000_000_000, TokenQuota: 1 << 50}
	s := stack.Start(tb, stack.Options{
		Script: func(req fakeupstream.Request) fakeupstream.Reply {
			if !req.Stream {
				return fakeupstream.Reply{Text: shortAnswer}
			}
			rep := fakeupstream.Reply{Chunks: chunks}
			if m := req.Messages; len(m) > 0 && strings.HasSuffix(m[len(m)-1].Content, pacedMarker) {
				rep.ChunkDelay = pacedDelay
			}
			return rep
		},
		KeyLimits: big, UserLimits: big,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Wrap:   labelGateway,
	})
	direct, gateway := newClient(conns), newClient(conns)
	tb.Cleanup(direct.CloseIdleConnections)
	tb.Cleanup(gateway.CloseIdleConnections)
	return sides{
		direct:  target{name: "direct", url: s.Upstream.URL + "/chat/completions", key: s.Key, client: direct},
		gateway: target{name: "gateway", url: s.URL + "/chat/completions", key: s.Key, client: gateway},
		stack:   s,
	}
}

// labelGateway marks the gateway's goroutines with the pprof label
// side=gateway, so that `go tool pprof -tagfocus=side=gateway` shows the
// gateway's share of a profile apart from the load generator and the fake
// upstream. The label stays on the connection's goroutine after the
// handler, so reading requests and writing answers count as the gateway's.
func labelGateway(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pprof.SetGoroutineLabels(pprof.WithLabels(r.Context(), pprof.Labels("side", "gateway")))
		h.ServeHTTP(w, r)
	})
}

// chatBody is non-streamed request i of the measured traffic.
func chatBody(i int) string {
	p, _ := json.Marshal(prompt)
	return fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":%s}],"user":"user-%d"}`, stack.Model, p, i%endUsers)
}

// streamBody is streamed request i; paced asks for a paced answer.
func streamBody(i int, paced bool) string {
	text := prompt
	if paced {
		text += " " + pacedMarker
	}
	p, _ := json.Marshal(text)
	return fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":%s}],"user":"user-%d","stream":true}`, stack.Model, p, i%endUsers)
}

// checkStream fails unless a stream delivered the whole answer.
func checkStream(tb testing.TB, what string, st streamTiming, err error) {
	tb.Helper()
	if err != nil || st.text != streamText {
		tb.Fatalf("%s: err %v, answer %q, want %q", what, err, st.text, streamText)
	}
}

// envInt reads a positive integer setting of the report.
func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// TestLatencyReport measures the gateway's added latency side by side with
// the upstream reached directly. It runs only with FIREBREAK_BENCH=1; see
// docs/benchmarks.md for the command and the figures.
func TestLatencyReport(t *testing.T) {
	if os.Getenv("FIREBREAK_BENCH") == "" {
		t.Skip("set FIREBREAK_BENCH=1 to run the latency report")
	}
	l := load{
		rate:     envInt(t, "FIREBREAK_BENCH_RATE", 1000),
		requests: envInt(t, "FIREBREAK_BENCH_REQUESTS", 10000),
		workers:  envInt(t, "FIREBREAK_BENCH_WORKERS", 32),
	}
	streams := envInt(t, "FIREBREAK_BENCH_STREAMS", 500)
	paced := envInt(t, "FIREBREAK_BENCH_PACED", 100)
	sd := setup(t, l.workers)
	warm := load{rate: l.rate, requests: min(l.requests, 2000), workers: l.workers}
	for _, tg := range []target{sd.direct, sd.gateway} {
		assertNoErrors(t, tg.name+" warm-up", first(run(t.Context(), tg, warm, chatBody)))
	}
	reportChat(t, sd, l)
	reportStream(t, sd, streams, false)
	reportStream(t, sd, paced, true)
}

func first[A, B any](a A, _ B) A { return a }

// reportChat runs l against each side, in two alternating halves so that
// drift on a shared machine falls on both, and logs the comparison.
func reportChat(t *testing.T, sd sides, l load) {
	t.Helper()
	half := load{rate: l.rate, requests: l.requests / 2, workers: l.workers}
	res := map[string]*chatResult{"direct": {}, "gateway": {}}
	for range 2 {
		for _, tg := range []target{sd.direct, sd.gateway} {
			samples, elapsed := run(t.Context(), tg, half, chatBody)
			assertNoErrors(t, tg.name, samples)
			res[tg.name].add(samples, elapsed)
		}
	}
	d, g := res["direct"], res["gateway"]
	var b strings.Builder
	fmt.Fprintf(&b, "non-stream chat completions: %d req/s scheduled, %d requests per side, %d workers, keep-alive, loopback\n",
		l.rate, 2*half.requests, l.workers)
	fmt.Fprintf(&b, "%-14s %8s %8s %8s %8s %8s %9s %9s\n", "µs", "p50", "p90", "p99", "max", "mean", "req/s", "late>1ms")
	for _, r := range []struct {
		name string
		c    *chatResult
	}{{"direct", d}, {"gateway", g}} {
		s := summarise(r.c.latency)
		fmt.Fprintf(&b, "%-14s %8s %8s %8s %8s %8s %9.0f %9d\n", r.name, us(s.p50), us(s.p90), us(s.p99), us(s.max), us(s.avg), r.c.rate(), r.c.late)
	}
	ds, gs := summarise(d.latency), summarise(g.latency)
	fmt.Fprintf(&b, "%-14s %8s %8s %8s %8s %8s\n", "added", us(gs.p50-ds.p50), us(gs.p90-ds.p90), us(gs.p99-ds.p99), us(gs.max-ds.max), us(gs.avg-ds.avg))
	fmt.Fprintf(&b, "%-14s %8s %8s %8s %8s %8s\n", "ratio", ratio(gs.p50, ds.p50), ratio(gs.p90, ds.p90), ratio(gs.p99, ds.p99), ratio(gs.max, ds.max), ratio(gs.avg, ds.avg))
	t.Log("\n" + b.String())
}

// chatResult gathers the samples of one side.
type chatResult struct {
	latency []time.Duration
	late    int // requests that started more than 1 ms behind schedule
	n       int
	elapsed time.Duration
}

func (c *chatResult) add(samples []sample, elapsed time.Duration) {
	for _, s := range samples {
		c.latency = append(c.latency, s.latency)
		if s.lag > time.Millisecond {
			c.late++
		}
	}
	c.n += len(samples)
	c.elapsed += elapsed
}

func (c *chatResult) rate() float64 { return float64(c.n) / c.elapsed.Seconds() }

// reportStream times streamed answers one at a time, alternating sides.
func reportStream(t *testing.T, sd sides, n int, paced bool) {
	t.Helper()
	type times struct{ firstByte, firstContent, total []time.Duration }
	res := map[string]*times{"direct": {}, "gateway": {}}
	for i := range n + n/10 {
		for _, tg := range []target{sd.direct, sd.gateway} {
			st, err := stream(t.Context(), tg, streamBody(i, paced))
			checkStream(t, fmt.Sprintf("%s stream %d", tg.name, i), st, err)
			if i < n/10 {
				continue // warm-up
			}
			r := res[tg.name]
			r.firstByte, r.firstContent, r.total = append(r.firstByte, st.firstByte), append(r.firstContent, st.firstContent), append(r.total, st.total)
		}
	}
	var b strings.Builder
	pace := "sent at once"
	if paced {
		pace = fmt.Sprintf("paced one per %v", pacedDelay)
	}
	fmt.Fprintf(&b, "streamed chat completions: %d content deltas (%d bytes) %s, %d streams per side, one at a time\n",
		streamChunks, len(streamText), pace, n)
	fmt.Fprintf(&b, "%-14s %8s %8s %8s %8s %8s %8s\n", "µs", "ttfb p50", "p99", "first p50", "p99", "total p50", "p99")
	for _, side := range []string{"direct", "gateway"} {
		r := res[side]
		fb, fc, tot := summarise(r.firstByte), summarise(r.firstContent), summarise(r.total)
		fmt.Fprintf(&b, "%-14s %8s %8s %9s %8s %9s %8s\n", side, us(fb.p50), us(fb.p99), us(fc.p50), us(fc.p99), us(tot.p50), us(tot.p99))
	}
	d, g := res["direct"], res["gateway"]
	fmt.Fprintf(&b, "%-14s %8s %8s %9s %8s %9s %8s\n", "added",
		us(summarise(g.firstByte).p50-summarise(d.firstByte).p50), us(summarise(g.firstByte).p99-summarise(d.firstByte).p99),
		us(summarise(g.firstContent).p50-summarise(d.firstContent).p50), us(summarise(g.firstContent).p99-summarise(d.firstContent).p99),
		us(summarise(g.total).p50-summarise(d.total).p50), us(summarise(g.total).p99-summarise(d.total).p99))
	t.Log("\n" + b.String())
}

func assertNoErrors(t *testing.T, what string, samples []sample) {
	t.Helper()
	for i, s := range samples {
		if s.err != nil {
			t.Fatalf("%s: request %d: %v", what, i, s.err)
		}
	}
}

func us(d time.Duration) string { return strconv.FormatInt(d.Microseconds(), 10) }

func ratio(a, b time.Duration) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", float64(a)/float64(b))
}
