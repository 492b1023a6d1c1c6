package gateway

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/internal/cputime"
	"github.com/firebreak/firebreak/label"
	"github.com/firebreak/firebreak/openai"
	"github.com/firebreak/firebreak/safety"
	"github.com/firebreak/firebreak/safety/lexicon"
)

// discard is a ResponseWriter that flushes nowhere.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}
func (d *discard) Flush()                      {}

type fixedLabels struct{ p *label.Policy }

func (f fixedLabels) Labels(string, string, bool) *label.Policy { return f.p }

// benchRelay is the relay of one chat answer, as chatCompletions builds it
// after the upstream answered, with labels or without.
func benchRelay(b testing.TB, g *Gateway, e *safety.Engine, body string, labelled bool) *relay {
	req, err := openai.ParseChatRequest([]byte(body))
	if err != nil {
		b.Fatal(err)
	}
	c := &call{id: "req_bench", start: time.Now(), model: "general",
		principal: &account.Principal{Tenant: account.Tenant{Name: "default"}}}
	if labelled {
		hr, _ := http.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
		if c.label, err = g.newLabelling(hr, c, req); err != nil {
			b.Fatal(err)
		}
	}
	grant, err := g.budget.admit(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return &relay{g: g, c: c, engine: e, req: req, cancel: func() {}, grant: grant}
}

// relayGateway is a gateway with what a relay uses (metrics, limits, the
// default labels, a signing key) and an engine that refuses "pipe bomb".
func relayGateway(tb testing.TB) (*Gateway, *safety.Engine) {
	tb.Helper()
	m, err := newMetrics(prometheus.NewRegistry())
	if err != nil {
		tb.Fatal(err)
	}
	_, priv, _ := ed25519.GenerateKey(nil)
	g := &Gateway{metrics: m, maxStream: time.Minute, maxAnswer: 1 << 20, budget: newAnswerBudget(0, 0, m),
		labels: fixedLabels{label.Default()}, signer: label.NewSigner(priv)}
	e, err := safety.Compile(safety.Config{Version: "test", Terms: []lexicon.Term{{ID: "t1", Text: "pipe bomb", Code: "A1d", Action: "refuse"}}})
	if err != nil {
		tb.Fatal(err)
	}
	return g, e
}

// BenchmarkLabelling is what labelling adds to an answer on the gateway's
// own path (review, placement, signing, encoding; no network, no audit
// write): a stream of 100 content chunks and a whole answer of the same
// text, each without and with labels (end position, signed).
func BenchmarkLabelling(b *testing.B) {
	g, e := relayGateway(b)
	const chunks = 100
	var sse, text strings.Builder
	for i := range chunks {
		word := fmt.Sprintf("word%03d and some more text ", i)
		text.WriteString(word)
		fmt.Fprintf(&sse, "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":%q},\"finish_reason\":null}]}\n\n", word)
	}
	sse.WriteString("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n")
	sse.WriteString("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":100,\"total_tokens\":105}}\n\ndata: [DONE]\n\n")
	whole := fmt.Sprintf(`{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":%q},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":100,"total_tokens":105}}`, text.String())
	const streamReq = `{"model":"general","messages":[{"role":"user","content":"hello"}],"stream":true}`
	const wholeReq = `{"model":"general","messages":[{"role":"user","content":"hello"}]}`
	for _, labelled := range []bool{false, true} {
		name := map[bool]string{false: "unlabelled", true: "labelled"}[labelled]
		b.Run("stream/"+name, func(b *testing.B) {
			b.ReportAllocs()
			start := cputime.Process()
			for b.Loop() {
				rl := benchRelay(b, g, e, streamReq, labelled)
				rl.stream(context.Background(), &discard{h: http.Header{}}, strings.NewReader(sse.String()))
				if rl.c.outcome != "" {
					b.Fatalf("outcome %s", rl.c.outcome)
				}
			}
			cputime.Report(b, start, 0)
			b.ReportMetric(float64((cputime.Process()-start).Nanoseconds())/float64(b.N*chunks), "cpu-ns/chunk")
		})
		b.Run("complete/"+name, func(b *testing.B) {
			b.ReportAllocs()
			start := cputime.Process()
			for b.Loop() {
				rl := benchRelay(b, g, e, wholeReq, labelled)
				rl.complete(context.Background(), &discard{h: http.Header{}}, bytes.NewReader([]byte(whole)))
				if rl.c.outcome != "" {
					b.Fatalf("outcome %s", rl.c.outcome)
				}
			}
			cputime.Report(b, start, 0)
		})
	}
}
