package demo_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/firebreak/firebreak/upstream"
	"github.com/firebreak/firebreak/upstream/demo"
)

func client(opts demo.Options) *http.Client {
	return &http.Client{Transport: demo.NewTransport(nil, opts)}
}

func post(t *testing.T, c *http.Client, ctx context.Context, path, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, demo.BaseURL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("post %s: %v", path, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// deltas reads an SSE stream and returns its content deltas and whether it
// ended with [DONE]; the last event is returned for usage checks.
func deltas(t *testing.T, r io.Reader) (out []string, done bool, last map[string]any) {
	t.Helper()
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if data == "[DONE]" {
			done = true
			continue
		}
		last = nil
		if err := json.Unmarshal([]byte(data), &last); err != nil {
			t.Fatalf("bad event %q", data)
		}
		for _, c := range last["choices"].([]any) {
			if s, ok := c.(map[string]any)["delta"].(map[string]any)["content"].(string); ok && s != "" {
				out = append(out, s)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	return out, done, last
}

const twoMessages = `{"model":"firebreak-demo","messages":[{"role":"system","content":"be nice"},{"role":"user","content":[{"type":"text","text":"你好, phone 13800138000"}]}]`

func TestAnswer(t *testing.T) {
	c := client(demo.Options{})
	resp := post(t, c, context.Background(), "/chat/completions", twoMessages+`}`)
	var out struct {
		Object  string `json:"object"`
		Model   string `json:"model"`
		Choices []struct {
			Message      struct{ Role, Content string } `json:"message"`
			FinishReason string                         `json:"finish_reason"`
		} `json:"choices"`
		Usage struct {
			TotalTokens int `json:"total_tokens"`
		} `json:"usage"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	answer := out.Choices[0].Message.Content
	for _, want := range []string{demo.Label, "2 messages", "28 characters", "«你好, phone 13800138000»", "Tip: "} {
		if !strings.Contains(answer, want) {
			t.Errorf("answer lacks %q: %s", want, answer)
		}
	}
	if !strings.HasPrefix(answer, demo.Label) || out.Object != "chat.completion" || out.Model != demo.ModelName || out.Usage.TotalTokens == 0 {
		t.Errorf("response %+v", out)
	}
	again := post(t, c, context.Background(), "/chat/completions", twoMessages+`}`)
	var out2 struct {
		Choices []struct{ Message struct{ Content string } } `json:"choices"`
	}
	_ = json.NewDecoder(again.Body).Decode(&out2)
	if out2.Choices[0].Message.Content != answer {
		t.Error("the same request got a different answer")
	}
}

func TestStream(t *testing.T) {
	tests := []struct {
		name      string
		opts      demo.Options
		body      string
		wantUsage bool
	}{
		{"default chunks", demo.Options{}, twoMessages + `,"stream":true}`, false},
		{"usage and small chunks", demo.Options{ChunkRunes: 2}, twoMessages + `,"stream":true,"stream_options":{"include_usage":true}}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := post(t, client(tt.opts), context.Background(), "/chat/completions", tt.body)
			if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
				t.Fatalf("content type %q", ct)
			}
			parts, done, last := deltas(t, resp.Body)
			size := max(tt.opts.ChunkRunes, 0)
			if size == 0 {
				size = 6
			}
			if !done || len(parts) < 10 {
				t.Fatalf("done=%v with %d chunks", done, len(parts))
			}
			for _, p := range parts[:len(parts)-1] {
				if utf8.RuneCountInString(p) != size {
					t.Errorf("chunk %q is not %d characters", p, size)
				}
			}
			if !strings.HasPrefix(strings.Join(parts, ""), demo.Label) {
				t.Errorf("stream does not start with the label: %q", strings.Join(parts, ""))
			}
			_, hasUsage := last["usage"].(map[string]any)
			if hasUsage != tt.wantUsage {
				t.Errorf("last event %v, want usage=%v", last, tt.wantUsage)
			}
		})
	}
}

func TestErrorsAndModels(t *testing.T) {
	c := client(demo.Options{})
	tests := []struct {
		name, method, path, body string
		wantStatus               int
		wantBody                 string
	}{
		{"bad json", http.MethodPost, "/chat/completions", `{"model":`, 400, `"invalid_json"`},
		{"embeddings", http.MethodPost, "/embeddings", `{"input":"x"}`, 400, `"unsupported_endpoint"`},
		{"unknown path", http.MethodPost, "/completions", `{}`, 404, `"not_found"`},
		{"models", http.MethodGet, "/models", ``, 200, `"id":"firebreak-demo"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, demo.BaseURL+tt.path, strings.NewReader(tt.body))
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus || !strings.Contains(string(b), tt.wantBody) {
				t.Errorf("%d %s", resp.StatusCode, b)
			}
		})
	}
}

func TestCancelStopsStream(t *testing.T) {
	c := client(demo.Options{ChunkDelay: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp := post(t, c, ctx, "/chat/completions", twoMessages+`,"stream":true}`)
	br := bufio.NewReader(resp.Body)
	if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "data: ") {
		t.Fatalf("first event %q, %v", line, err)
	}
	cancel()
	if _, err := io.ReadAll(br); !errors.Is(err, context.Canceled) {
		t.Errorf("read after cancel: %v, want context.Canceled", err)
	}
}

func TestOtherSchemesPassThrough(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "real") }))
	t.Cleanup(srv.Close)
	resp, err := (&http.Client{Transport: demo.Transport(nil)}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); string(b) != "real" {
		t.Errorf("got %q from the real server", b)
	}
}

func TestThroughRouter(t *testing.T) {
	r, err := upstream.New(upstream.Options{
		Upstreams: []upstream.Config{demo.Upstream()},
		Models:    []upstream.Model{demo.Model()},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	route, err := r.Resolve("", "", "")
	if err != nil || route.Model.Name != demo.ModelName {
		t.Fatalf("resolve: %v %v", route, err)
	}
	resp, err := r.Do(context.Background(), route, upstream.Request{Path: "/chat/completions", Stream: true,
		Body: func(m string) ([]byte, error) {
			return []byte(`{"model":"` + m + `","stream":true,"messages":[{"role":"user","content":"hi"}]}`), nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parts, done, _ := deltas(t, resp.Body)
	resp.Body.Close()
	if !done || resp.Upstream != demo.UpstreamName || !strings.HasPrefix(strings.Join(parts, ""), demo.Label) {
		t.Errorf("done=%v upstream=%s answer=%q", done, resp.Upstream, strings.Join(parts, ""))
	}
	if h := r.Health()[0]; !h.Healthy || h.InFlight != 0 {
		t.Errorf("health after the stream %+v", h)
	}
}
