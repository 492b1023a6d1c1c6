package gateway_test

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/config"
	"github.com/firebreak/firebreak/internal/fakeupstream"
)

func TestChatPassThrough(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	h.ups[0].Push(fakeupstream.Reply{Text: `{"greeting":"Hello there."}`}) // JSON, as asked: a program parses it, so no label is added
	resp := h.post(chat("general", "hi", false, `"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"seed":7,"response_format":{"type":"json_object"},"logprobs":true`))
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	var out struct {
		Choices []struct {
			Message      struct{ Content string }
			FinishReason string `json:"finish_reason"`
		}
		Usage struct {
			TotalTokens int64 `json:"total_tokens"`
		}
	}
	decodeJSON(t, resp.Body, &out)
	if out.Choices[0].Message.Content != `{"greeting":"Hello there."}` || out.Choices[0].FinishReason != "stop" {
		t.Errorf("answer = %+v", out.Choices)
	}
	got := h.ups[0].Requests()[0]
	if string(got.Fields["seed"]) != "7" || !strings.Contains(string(got.Fields["tools"]), `"name":"f"`) || !strings.Contains(string(got.Fields["response_format"]), "json_object") {
		t.Errorf("fields not passed through: %s", got.Fields)
	}
	if got.Model != "fake-model" {
		t.Errorf("upstream saw model %q, want the target's name", got.Model)
	}
	if string(got.Fields["logprobs"]) != "true" {
		t.Errorf("logprobs not passed: %s", got.Fields["logprobs"])
	}
	if resp.Header.Get("X-Firebreak-Model") != "general" || resp.Header.Get("X-Firebreak-Route") != "direct" {
		t.Errorf("route headers %q %q", resp.Header.Get("X-Firebreak-Model"), resp.Header.Get("X-Firebreak-Route"))
	}
	if resp.Header.Get("X-Request-Id") == "" {
		t.Error("no request id")
	}
}

func TestRouting(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	tests := []struct{ model, text, wantModel, wantRoute string }{
		{"auto", "我最近有头痛的症状", "medical", "auto:medical"},
		{"auto", "write a poem", "general", "auto:general"},
		{"", "hi", "general", "general"},
		{"medical", "hi", "medical", "direct"},
	}
	for _, tt := range tests {
		t.Run(tt.model+"/"+tt.text, func(t *testing.T) {
			resp := h.post(chat(tt.model, tt.text, false, ""))
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if got := resp.Header.Get("X-Firebreak-Model"); got != tt.wantModel {
				t.Errorf("model = %q, want %q", got, tt.wantModel)
			}
			if got := resp.Header.Get("X-Firebreak-Route"); got != tt.wantRoute {
				t.Errorf("route = %q, want %q", got, tt.wantRoute)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	ctx := t.Context()
	_, narrowKey, err := h.accounts.Keys.Create(ctx, account.Key{TenantID: h.tenant.ID, Models: []string{"medical"}})
	if err != nil {
		t.Fatal(err)
	}
	big := `{"model":"general","messages":[{"role":"user","content":"` + strings.Repeat("x", 50<<20) + `"}]}`
	tests := []struct {
		name, method, path, body, key string
		status                        int
		code                          string
	}{
		{"no key", "POST", "/v1/chat/completions", chat("general", "hi", false, ""), "", 401, "invalid_api_key"},
		{"bad key", "POST", "/v1/chat/completions", chat("general", "hi", false, ""), "fbk_aaaaaaaa_bbbb", 401, "invalid_api_key"},
		{"unknown model", "POST", "/v1/chat/completions", chat("nope", "hi", false, ""), h.key, 404, "model_not_found"},
		{"forbidden model", "POST", "/v1/chat/completions", chat("general", "hi", false, ""), narrowKey, 403, "model_not_allowed"},
		{"invalid json", "POST", "/v1/chat/completions", `{"model":`, h.key, 400, "invalid_json"},
		{"invalid utf8", "POST", "/v1/chat/completions", "{\"model\":\"general\",\"messages\":[{\"role\":\"user\",\"content\":\"\xff\"}]}", h.key, 400, "invalid_json"},
		{"deep nesting", "POST", "/v1/chat/completions", `{"x":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`, h.key, 400, "invalid_json"},
		{"too large", "POST", "/v1/chat/completions", big, h.key, 413, "request_too_large"},
		{"no messages", "POST", "/v1/chat/completions", `{"model":"general"}`, h.key, 400, "invalid_request"},
		{"unknown endpoint", "POST", "/v1/completions", `{}`, h.key, 404, "not_found"},
		{"wrong method", "GET", "/v1/chat/completions", ``, h.key, 404, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := h.do(tt.method, tt.path, tt.body, tt.key)
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			var e struct {
				Error struct{ Message, Type, Code string }
			}
			decodeJSON(t, resp.Body, &e)
			if e.Error.Code != tt.code || e.Error.Message == "" || e.Error.Type == "" {
				t.Errorf("error = %+v, want code %s", e.Error, tt.code)
			}
		})
	}
	if n := len(h.ups[0].Requests()); n != 0 {
		t.Errorf("bad requests reached the upstream %d times", n)
	}
}

func TestStreamUsage(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	for _, include := range []bool{true, false} {
		extra := ""
		if include {
			extra = `"stream_options":{"include_usage":true}`
		}
		h.ups[0].Push(fakeupstream.Reply{Chunks: []string{"Hel", "lo ", "world."}})
		resp := h.post(chat("general", "hi", true, extra))
		if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
			t.Fatalf("content type %q", ct)
		}
		events := sse(t, resp.Body)
		text, finish := streamText(t, events)
		if text != labelled("Hello world.") || finish != "stop" {
			t.Errorf("include_usage=%v: text %q finish %q", include, text, finish)
		}
		if events[len(events)-1] != "[DONE]" {
			t.Errorf("stream did not end with [DONE]: %q", events[len(events)-1])
		}
		sawUsage := false
		for _, e := range events {
			if strings.Contains(e, `"usage":{`) {
				sawUsage = true
			}
		}
		if sawUsage != include {
			t.Errorf("include_usage=%v but usage chunk sent=%v", include, sawUsage)
		}
	}
	for _, r := range h.ups[0].Requests() {
		if !r.IncludeUsage {
			t.Error("the gateway must always ask the upstream for usage")
		}
	}
}

func TestStreamFailures(t *testing.T) {
	h := newHarness(t, harnessOptions{upstream: config.Upstream{IdleTimeout: config.Duration(300 * time.Millisecond), FirstByteTimeout: config.Duration(2 * time.Second)}})
	tests := []struct {
		name  string
		reply fakeupstream.Reply
		code  string
	}{
		{"dies mid-stream", fakeupstream.Reply{Chunks: []string{"one ", "two ", "three"}, Die: true, DieAfter: 2}, "upstream_error"},
		{"stalls mid-stream", fakeupstream.Reply{Chunks: []string{"one ", "two"}, Stall: 2 * time.Second}, "upstream_timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := h.counter("firebreak_stream_failures_total")
			h.ups[0].Push(tt.reply)
			resp := h.post(chat("general", "hi", true, ""))
			events := sse(t, resp.Body)
			if len(events) == 0 {
				t.Fatal("no events")
			}
			last := events[len(events)-1]
			for _, e := range events {
				if e == "[DONE]" {
					t.Fatalf("a failed stream ended with [DONE]: %q", events)
				}
			}
			if !strings.Contains(last, `"error"`) || !strings.Contains(last, tt.code) {
				t.Errorf("last event %q, want an error with code %s", last, tt.code)
			}
			if got := h.counter("firebreak_stream_failures_total"); got != before+1 {
				t.Errorf("stream failure metric %v → %v", before, got)
			}
		})
	}
}

// TestStreamLimit: a stream that runs past the gateway's limit ends with
// an error event, never with [DONE].
func TestStreamLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{maxStream: 300 * time.Millisecond})
	h.ups[0].Push(fakeupstream.Reply{Chunks: strings.Split("a b c d e f g h i j", " "), ChunkDelay: 100 * time.Millisecond})
	events := sse(t, h.post(chat("general", "hi", true, "")).Body)
	last := events[len(events)-1]
	if last == "[DONE]" || !strings.Contains(last, "limit") {
		t.Fatalf("last event %q", last)
	}
}

func TestFailoverBeforeFirstByte(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{replicas: 2})
	// Replica a refuses every request; round robin sends one of two
	// requests to it first, and the gateway must retry that one on b.
	for i := 0; i < 2; i++ {
		h.ups[0].Push(fakeupstream.Reply{Status: 500})
	}
	for i := 0; i < 2; i++ {
		resp := h.post(chat("general", "hi", false, ""))
		if resp.StatusCode != 200 {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("request %d: status %d: %s", i, resp.StatusCode, b)
		}
	}
	if got := h.counter("firebreak_upstream_attempts_total", "upstream", "upa", "result", "status"); got != 1 {
		t.Errorf("failed attempts on replica a = %v, want 1", got)
	}
	if got := len(h.ups[1].Requests()); got != 2 {
		t.Errorf("replica b served %d requests, want 2", got)
	}
}

func TestUpstreamTimeout(t *testing.T) {
	h := newHarness(t, harnessOptions{upstream: config.Upstream{FirstByteTimeout: config.Duration(200 * time.Millisecond)}})
	h.ups[0].Push(fakeupstream.Reply{HeaderDelay: 2 * time.Second})
	resp := h.post(chat("general", "hi", false, ""))
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("status %d, want 504", resp.StatusCode)
	}
}

// TestWriteTimeout: http.write_timeout bounds a non-stream answer even
// when the upstream's own first-byte timeout is longer: the model call is
// cancelled and the client gets upstream_timeout, for chat and embeddings.
func TestWriteTimeout(t *testing.T) {
	h := newHarness(t, harnessOptions{writeTimeout: 300 * time.Millisecond,
		upstream: config.Upstream{FirstByteTimeout: config.Duration(time.Minute)}})
	for _, tc := range []struct{ path, body string }{
		{"/v1/chat/completions", chat("general", "hi", false, "")},
		{"/v1/embeddings", `{"model":"general","input":"hi"}`},
	} {
		h.ups[0].Push(fakeupstream.Reply{HeaderDelay: 5 * time.Second})
		resp := h.do(http.MethodPost, tc.path, tc.body, h.key)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusGatewayTimeout || !strings.Contains(string(b), "upstream_timeout") {
			t.Errorf("%s: status %d %s, want 504 upstream_timeout", tc.path, resp.StatusCode, b)
		}
	}
}

func TestUpstreamClientErrorPassesThrough(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	h.ups[0].Push(fakeupstream.Reply{Status: 400, ErrorCode: "context_length_exceeded", ErrorMessage: "too long"})
	resp := h.post(chat("general", "hi", false, ""))
	if resp.StatusCode != 400 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), "context_length_exceeded") {
		t.Errorf("body %s", b)
	}
}

func TestRateLimit(t *testing.T) {
	h := newHarness(t, harnessOptions{keyLimits: account.Limits{RPM: 2}})
	for i := 0; i < 2; i++ {
		if resp := h.post(chat("general", "hi", false, "")); resp.StatusCode != 200 {
			t.Fatalf("request %d: status %d", i, resp.StatusCode)
		}
	}
	resp := h.post(chat("general", "hi", false, ""))
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("status %d retry-after %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if h.counter("firebreak_limit_hits_total") != 1 {
		t.Error("limit hit not counted")
	}
}

func TestEndUserLimitAndRecord(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{userLimits: account.Limits{RPM: 1}})
	if resp := h.post(chat("general", "hi", false, `"user":"alice"`)); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if resp := h.post(chat("general", "hi", false, `"user":"alice"`)); resp.StatusCode != 429 {
		t.Fatalf("second request of alice: status %d, want 429", resp.StatusCode)
	}
	if resp := h.post(chat("general", "hi", false, `"user":"bob"`)); resp.StatusCode != 200 {
		t.Fatalf("bob: status %d", resp.StatusCode)
	}
	users, err := h.accounts.Users.List(t.Context(), h.tenant.ID, "", 10)
	if err != nil || len(users) != 2 {
		t.Fatalf("end users = %+v, %v", users, err)
	}
}

func TestModelsList(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	resp := h.do("GET", "/v1/models", "", h.key)
	var out struct {
		Object string
		Data   []struct{ ID string }
	}
	decodeJSON(t, resp.Body, &out)
	var ids []string
	for _, m := range out.Data {
		ids = append(ids, m.ID)
	}
	if strings.Join(ids, ",") != "auto,general,medical" {
		t.Errorf("models = %v", ids)
	}
}

func TestEmbeddings(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	resp := h.do("POST", "/v1/embeddings", `{"model":"general","input":"hello"}`, h.key)
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	var out struct {
		Model string
		Data  []struct{ Embedding []float64 }
	}
	decodeJSON(t, resp.Body, &out)
	if len(out.Data) == 0 || len(out.Data[0].Embedding) == 0 || out.Model != "general" {
		t.Errorf("no embedding, or not the public model's: %+v", out)
	}
	// What the upstream adds beside the vectors in text is not relayed;
	// an answer that is not an embeddings list is an upstream error.
	for raw, want := range map[string]int{
		`{"object":"list","model":"m","note":"how to build a pipe bomb","data":[{"object":"embedding","index":0,"embedding":[0.5,-1e-3],"text":"how to build a pipe bomb"}],"usage":{"prompt_tokens":1,"total_tokens":1}}`: 200,
		`{"object":"list","data":[{"object":"embedding","index":0,"embedding":"AAAAPw==","x":["how to build a pipe bomb"]}]}`:                                                                                              200,
		`{"object":"list","data":["how to build a pipe bomb"]}`:               502,
		`{"object":"list","data":[{"embedding":"how to build a pipe bomb"}]}`: 200,
	} {
		h.ups[0].Push(fakeupstream.Reply{Raw: []string{raw}})
		resp := h.do("POST", "/v1/embeddings", `{"model":"general","input":"hello"}`, h.key)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want || strings.Contains(string(body), "bomb") {
			t.Errorf("upstream sent %s\nclient got %d %s", raw, resp.StatusCode, body)
		}
	}
}

func TestKeyOfOneEndUser(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{userLimits: account.Limits{RPM: 1}})
	_, key, err := h.accounts.Keys.Create(t.Context(), account.Key{TenantID: h.tenant.ID, EndUser: "frank"})
	if err != nil {
		t.Fatal(err)
	}
	if resp := h.do("POST", "/v1/chat/completions", chat("general", "hi", false, ""), key); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	// The key speaks for frank: his per-user limit applies without a "user".
	if resp := h.do("POST", "/v1/chat/completions", chat("general", "hi", false, ""), key); resp.StatusCode != 429 {
		t.Fatalf("frank's second request: status %d, want 429", resp.StatusCode)
	}
	if resp := h.do("POST", "/v1/chat/completions", chat("general", "hi", false, `"user":"grace"`), key); resp.StatusCode != 403 {
		t.Fatalf("acting for another user: status %d, want 403", resp.StatusCode)
	}
}

// TestStreamFlushesBeforeWaiting: chunks the upstream sends together go to
// the client in one write, but a chunk is never held back waiting for the
// next one. The upstream sends a delta every 1.5 seconds; the client must
// have the second one's text well before the third is sent.
func TestStreamFlushesBeforeWaiting(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	const delay = 1500 * time.Millisecond
	h.ups[0].Push(fakeupstream.Reply{Chunks: []string{"Hello there, ", "my friend, ", "goodbye."}, ChunkDelay: delay})
	start := time.Now()
	resp := h.post(chat("general", "hi", true, ""))
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		d, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok || !strings.Contains(d, "my friend") {
			continue
		}
		if at := time.Since(start); at >= 3*delay-delay/3 {
			t.Fatalf("the second delta reached the client after %v, with the third (sent at %v)", at, 3*delay)
		}
		return
	}
	t.Fatalf("no second delta: %v", sc.Err())
}
