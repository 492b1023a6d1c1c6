package tracing_test

import (
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/config"
	"github.com/firebreak/firebreak/internal/fakeupstream"
	"github.com/firebreak/firebreak/replica"
	"github.com/firebreak/firebreak/tracing"
)

// receiver is an OTLP/HTTP traces endpoint on loopback: it decodes each
// ExportTraceServiceRequest from the wire (field 1: ResourceSpans) and
// keeps the spans.
type receiver struct {
	mu       sync.Mutex
	spans    []*tracepb.Span
	service  []string
	problems []string
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
		rc.problems = append(rc.problems, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type"))
		http.Error(w, "want POST /v1/traces, application/x-protobuf", http.StatusBadRequest)
		return
	}
	for len(body) > 0 {
		num, typ, n := protowire.ConsumeTag(body)
		if n < 0 || num != 1 || typ != protowire.BytesType {
			rc.problems = append(rc.problems, "not an ExportTraceServiceRequest")
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		body = body[n:]
		msg, n := protowire.ConsumeBytes(body)
		if n < 0 {
			rc.problems = append(rc.problems, "truncated")
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		body = body[n:]
		var rs tracepb.ResourceSpans
		if err := proto.Unmarshal(msg, &rs); err != nil {
			rc.problems = append(rc.problems, err.Error())
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		for _, a := range rs.GetResource().GetAttributes() {
			if a.Key == "service.name" {
				rc.service = append(rc.service, a.GetValue().GetStringValue())
			}
		}
		for _, ss := range rs.ScopeSpans {
			rc.spans = append(rc.spans, ss.Spans...)
		}
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
}

// TestPipelineSpansArrive serves a streamed and a plain chat completion
// from a replica configured with tracing.endpoint, and checks that the
// OTLP/HTTP receiver gets, for each, a root span and one child span per
// stage of the pipeline, in one trace, with no prompt text in any
// attribute.
func TestPipelineSpansArrive(t *testing.T) {
	rc := &receiver{}
	collector := httptest.NewServer(rc)
	defer collector.Close()
	up := fakeupstream.New(fakeupstream.Options{})
	defer up.Close()

	cfg := config.Default()
	cfg.Data = t.TempDir()
	cfg.Upstreams = []config.Upstream{{Name: "fake", BaseURL: up.URL}}
	cfg.Models = []config.Model{{Name: "general", Domain: "general", Targets: []config.Target{{Upstream: "fake", Model: "fake-model"}}}}
	cfg.Routing.General = "general"
	cfg.Tracing = config.Tracing{Endpoint: collector.URL + "/v1/traces", ServiceName: "firebreak-test"}
	ctx := context.Background()
	r, err := replica.New(ctx, cfg, replica.Options{})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(r.Handler())
	tenant, err := r.Accounts.Tenants.Create(ctx, account.Tenant{Name: "t"})
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := r.Accounts.Keys.Create(ctx, account.Key{TenantID: tenant.ID, Name: "k"})
	if err != nil {
		t.Fatal(err)
	}
	const secretPrompt = "my secret prompt 7731"
	for _, stream := range []string{"false", "true"} {
		req, _ := http.NewRequest("POST", api.URL+"/v1/chat/completions", strings.NewReader(
			`{"model":"general","stream":`+stream+`,"messages":[{"role":"user","content":"`+secretPrompt+`"}]}`))
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("chat: %d %s", resp.StatusCode, b)
		}
	}
	api.Close()
	r.Close() // exports what the batcher holds

	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.problems) > 0 {
		t.Fatalf("the receiver refused exports: %v", rc.problems)
	}
	if len(rc.service) == 0 || rc.service[0] != "firebreak-test" {
		t.Errorf("service.name %v, want firebreak-test", rc.service)
	}
	roots := map[string]*tracepb.Span{} // by trace id
	for _, s := range rc.spans {
		if len(s.ParentSpanId) == 0 {
			roots[hex.EncodeToString(s.TraceId)] = s
		}
		for _, a := range s.Attributes {
			if strings.Contains(a.GetValue().GetStringValue(), "7731") {
				t.Errorf("span %q attribute %s carries the prompt", s.Name, a.Key)
			}
		}
	}
	if len(roots) != 2 {
		t.Fatalf("%d traces, want one per request (spans: %d)", len(roots), len(rc.spans))
	}
	want := []string{"authenticate", "standing", "limits", "input review", "upstream", "output review", "audit"}
	for id, root := range roots {
		if root.Name != "chat" || root.Kind != tracepb.Span_SPAN_KIND_SERVER {
			t.Errorf("root span %q kind %v, want chat, server", root.Name, root.Kind)
		}
		got := map[string]int{}
		for _, s := range rc.spans {
			if hex.EncodeToString(s.TraceId) == id && len(s.ParentSpanId) > 0 {
				if string(s.ParentSpanId) != string(root.SpanId) {
					t.Errorf("span %q: parent is not the request's root span", s.Name)
				}
				if s.EndTimeUnixNano < s.StartTimeUnixNano || s.StartTimeUnixNano < root.StartTimeUnixNano {
					t.Errorf("span %q: times %d–%d outside its root's", s.Name, s.StartTimeUnixNano, s.EndTimeUnixNano)
				}
				got[s.Name]++
			}
		}
		for _, name := range want {
			if got[name] != 1 {
				t.Errorf("trace %s: %d spans %q, want 1 (got %v)", id, got[name], name, got)
			}
		}
		attrs := map[string]string{}
		for _, a := range root.Attributes {
			attrs[a.Key] = a.GetValue().GetStringValue()
		}
		if attrs["firebreak.model"] != "general" || attrs["firebreak.outcome"] != "ok" || attrs["firebreak.upstream"] != "fake" {
			t.Errorf("root attributes %v", attrs)
		}
	}
}

func TestNewRefusesBadSettings(t *testing.T) {
	for _, o := range []tracing.Options{
		{Endpoint: ""},
		{Endpoint: "collector:4318"},
		{Endpoint: "ftp://collector/v1/traces"},
		{Endpoint: "http://collector:4318/v1/traces", SampleRatio: 1.5},
	} {
		if _, err := tracing.New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
}
