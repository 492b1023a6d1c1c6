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
	"github.com/firebreak/firebreak/label"
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

// sides is the same scripted upstream reached straight, through the
// gateway as `firebreak serve` builds it, and through the same gateway
// without its audit trail (to show what the durable record costs).
type sides struct {
	direct, gateway, noAudit target
	stacks                   []*stack.Stack
}

// all returns the sides in the order they are measured and reported.
func (sd sides) all() []target { return []target{sd.direct, sd.gateway, sd.noAudit} }

// setup starts the stacks — SQLite, key auth, key and end-user limits (high
// enough never to refuse), sanctions, input and output review with the
// starter lexicon and PII detectors, router, audit trail, a text request
// log (discarded) — and one keep-alive client per side.
func setup(tb testing.TB, conns int) sides {
	tb.Helper()
	full, lean := startStack(tb, false), startStack(tb, true)
	client := func() *http.Client {
		c := newClient(conns)
		tb.Cleanup(c.CloseIdleConnections)
		return c
	}
	return sides{
		direct:  target{name: "direct", url: full.Upstream.URL + "/chat/completions", key: full.Key, client: client()},
		gateway: target{name: "gateway", url: full.URL + "/chat/completions", key: full.Key, client: client()},
		noAudit: target{name: "gateway-noaudit", url: lean.URL + "/chat/completions", key: lean.Key, client: client()},
		stacks:  []*stack.Stack{full, lean},
	}
}

func startStack(tb testing.TB, noAudit bool) *stack.Stack {
	tb.Helper()
	chunks := streamReply()
	big := account.Limits{RPM: 10_000_000, Concurrent: 10_000, TPM: 1_000_000_000, TokenQuota: 1 << 50}
	return stack.Start(tb, stack.Options{
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
		KeyLimits: big, UserLimits: big, NoAudit: noAudit,
		Postgres: os.Getenv("FIREBREAK_BENCH_POSTGRES") != "",
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Wrap:     labelGateway(map[bool]string{false: "gateway", true: "gateway-noaudit"}[noAudit]),
	})
}

// labelGateway marks a gateway's goroutines with the pprof label
// side=<side>, so that `go tool pprof -tagfocus='side=^gateway$'` shows
// that gateway's share of a profile apart from the load generator, the fake
// upstream and the other gateway (side=gateway-noaudit). The audit trail's
// writer goroutine is not labelled: focus on audit.(*Trail).writeLoop. The label stays on the connection's
// goroutine after the handler, so reading requests and writing answers
// count as the gateway's too.
func labelGateway(side string) func(http.Handler) http.Handler {
	labels := pprof.Labels("side", side)
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			pprof.SetGoroutineLabels(pprof.WithLabels(r.Context(), labels))
			h.ServeHTTP(w, r)
		})
	}
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

// checkStream fails unless a stream delivered the whole answer: through
// the gateway, with the default policy's explicit label at its end.
func checkStream(tb testing.TB, what string, tg target, st streamTiming, err error) {
	tb.Helper()
	want := streamText
	if tg.name != "direct" {
		want += label.Sep + label.Default().Text(label.Detect(streamText))
	}
	if err != nil || st.text != want {
		tb.Fatalf("%s: err %v, answer %q, want %q", what, err, st.text, want)
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
	for _, tg := range sd.all() {
		samples, _ := run(t.Context(), tg, warm, chatBody)
		assertNoErrors(t, tg.name+" warm-up", samples)
	}
	t.Log("\n" + reportChat(t, sd, l))
	t.Log("\n" + reportStream(t, sd, streams, false))
	t.Log("\n" + reportStream(t, sd, paced, true))
}

// reportChat runs l against each side, in two alternating halves so that
// drift on a shared machine falls on every side, and returns the table.
func reportChat(t *testing.T, sd sides, l load) string {
	t.Helper()
	half := load{rate: l.rate, requests: l.requests / 2, workers: l.workers}
	res := map[string]*chatResult{}
	for range 2 {
		for _, tg := range sd.all() {
			samples, elapsed := run(t.Context(), tg, half, chatBody)
			assertNoErrors(t, tg.name, samples)
			if res[tg.name] == nil {
				res[tg.name] = &chatResult{}
			}
			res[tg.name].add(samples, elapsed)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "non-stream chat completions: %d req/s scheduled, %d requests per side, %d workers, keep-alive, loopback\n",
		l.rate, 2*half.requests, l.workers)
	row := func(name string, cells ...string) {
		fmt.Fprintf(&b, "%-26s", name)
		for _, c := range cells {
			fmt.Fprintf(&b, " %8s", c)
		}
		b.WriteString("\n")
	}
	row("µs", "p50", "p90", "p99", "max", "mean", "req/s", "late>1ms")
	for _, tg := range sd.all() {
		r := res[tg.name]
		s := summarise(r.latency)
		row(tg.name, us(s.p50), us(s.p90), us(s.p99), us(s.max), us(s.avg), fmt.Sprintf("%.0f", r.rate()), strconv.Itoa(r.late))
	}
	d := summarise(res[sd.direct.name].latency)
	for _, tg := range sd.all()[1:] {
		g := summarise(res[tg.name].latency)
		row("added: "+tg.name, us(g.p50-d.p50), us(g.p90-d.p90), us(g.p99-d.p99), us(g.max-d.max), us(g.avg-d.avg))
		row("ratio: "+tg.name, ratio(g.p50, d.p50), ratio(g.p90, d.p90), ratio(g.p99, d.p99), ratio(g.max, d.max), ratio(g.avg, d.avg))
	}
	return b.String()
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

// streamTimes gathers the stream timings of one side.
type streamTimes struct{ firstByte, firstContent, total []time.Duration }

// reportStream times streamed answers one at a time, alternating sides,
// after a tenth as many for warm-up, and returns the table.
func reportStream(t *testing.T, sd sides, n int, paced bool) string {
	t.Helper()
	res := map[string]*streamTimes{}
	for i := range n + n/10 {
		for _, tg := range sd.all() {
			st, err := stream(t.Context(), tg, streamBody(i, paced))
			checkStream(t, fmt.Sprintf("%s stream %d", tg.name, i), tg, st, err)
			if i < n/10 {
				continue
			}
			if res[tg.name] == nil {
				res[tg.name] = &streamTimes{}
			}
			r := res[tg.name]
			r.firstByte, r.firstContent, r.total = append(r.firstByte, st.firstByte), append(r.firstContent, st.firstContent), append(r.total, st.total)
		}
	}
	pace := "sent at once"
	if paced {
		pace = fmt.Sprintf("paced one per %v", pacedDelay)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "streamed chat completions: %d content deltas (%d bytes) %s, %d streams per side, one at a time\n",
		streamChunks, len(streamText), pace, n)
	row := func(name string, cells ...string) {
		fmt.Fprintf(&b, "%-26s", name)
		for _, c := range cells {
			fmt.Fprintf(&b, " %9s", c)
		}
		b.WriteString("\n")
	}
	row("µs", "byte p50", "byte p99", "text p50", "text p99", "total p50", "total p99")
	sum := func(r *streamTimes) [3]dist {
		return [3]dist{summarise(r.firstByte), summarise(r.firstContent), summarise(r.total)}
	}
	d := sum(res[sd.direct.name])
	for _, tg := range sd.all() {
		g := sum(res[tg.name])
		row(tg.name, us(g[0].p50), us(g[0].p99), us(g[1].p50), us(g[1].p99), us(g[2].p50), us(g[2].p99))
	}
	for _, tg := range sd.all()[1:] {
		g := sum(res[tg.name])
		row("added: "+tg.name, us(g[0].p50-d[0].p50), us(g[0].p99-d[0].p99), us(g[1].p50-d[1].p50), us(g[1].p99-d[1].p99), us(g[2].p50-d[2].p50), us(g[2].p99-d[2].p99))
	}
	return b.String()
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
