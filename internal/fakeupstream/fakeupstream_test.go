package fakeupstream_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/firebreak/firebreak/internal/fakeupstream"
)

func start(t *testing.T, opts fakeupstream.Options) *fakeupstream.Server {
	t.Helper()
	s := fakeupstream.New(opts)
	t.Cleanup(s.Close)
	return s
}

func post(t *testing.T, ctx context.Context, url, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// sse reads a stream and returns the data payloads, whether [DONE] was seen,
// and the read error if the stream did not end cleanly.
func sse(t *testing.T, r io.Reader) (events []map[string]any, done bool, err error) {
	t.Helper()
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			t.Fatalf("unexpected SSE line %q", line)
		}
		if data == "[DONE]" {
			done = true
			continue
		}
		var ev map[string]any
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			t.Fatalf("bad chunk %q: %v", data, err)
		}
		events = append(events, ev)
	}
	return events, done, sc.Err()
}

func contentDeltas(events []map[string]any) []string {
	var out []string
	for _, ev := range events {
		for _, c := range ev["choices"].([]any) {
			d := c.(map[string]any)["delta"].(map[string]any)
			if s, ok := d["content"].(string); ok && s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

func TestChatCompletion(t *testing.T) {
	tests := []struct {
		name        string
		reply       fakeupstream.Reply
		body        string
		wantContent any
		wantFinish  string
		wantUsage   map[string]any
		wantTools   int
	}{
		{
			name: "default answer", body: `{"model":"m1","messages":[{"role":"user","content":"12345678"}]}`,
			wantContent: fakeupstream.DefaultText, wantFinish: "stop",
			wantUsage: map[string]any{"prompt_tokens": 2.0, "completion_tokens": 9.0, "total_tokens": 11.0},
		},
		{
			name: "chunks joined", reply: fakeupstream.Reply{Chunks: []string{"a", "b", "c"}, Usage: &fakeupstream.Usage{PromptTokens: 1, CompletionTokens: 2, TotalTokens: 3}},
			body:        `{"model":"m1","messages":[]}`,
			wantContent: "abc", wantFinish: "stop",
			wantUsage: map[string]any{"prompt_tokens": 1.0, "completion_tokens": 2.0, "total_tokens": 3.0},
		},
		{
			name:        "tool calls",
			reply:       fakeupstream.Reply{ToolCalls: []fakeupstream.ToolCall{{Name: "get_weather", Arguments: `{"city":"Paris"}`}}},
			body:        `{"model":"m1","messages":[{"role":"user","content":"weather?"}]}`,
			wantContent: nil, wantFinish: "tool_calls", wantTools: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, fakeupstream.Options{Replies: []fakeupstream.Reply{tt.reply}})
			resp := post(t, context.Background(), s.URL+"/chat/completions", tt.body)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			var got map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
				t.Fatal(err)
			}
			if got["object"] != "chat.completion" || got["model"] != "m1" {
				t.Errorf("object %v model %v", got["object"], got["model"])
			}
			choice := got["choices"].([]any)[0].(map[string]any)
			msg := choice["message"].(map[string]any)
			if msg["content"] != tt.wantContent || choice["finish_reason"] != tt.wantFinish {
				t.Errorf("content %q finish %v", msg["content"], choice["finish_reason"])
			}
			if tt.wantUsage != nil && !reflect.DeepEqual(got["usage"], tt.wantUsage) {
				t.Errorf("usage %v, want %v", got["usage"], tt.wantUsage)
			}
			if calls, _ := msg["tool_calls"].([]any); len(calls) != tt.wantTools {
				t.Errorf("tool calls %v", msg["tool_calls"])
			}
		})
	}
}

func TestStream(t *testing.T) {
	tests := []struct {
		name      string
		reply     fakeupstream.Reply
		body      string
		want      []string
		wantUsage bool
	}{
		{
			name:  "exact chunks",
			reply: fakeupstream.Reply{Chunks: []string{"he", "llo", " wor", "ld"}},
			body:  `{"model":"m","stream":true,"messages":[]}`,
			want:  []string{"he", "llo", " wor", "ld"},
		},
		{
			name:      "include usage",
			reply:     fakeupstream.Reply{Chunks: []string{"x", "y"}},
			body:      `{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[]}`,
			want:      []string{"x", "y"},
			wantUsage: true,
		},
		{
			name: "text split into words",
			body: `{"model":"m","stream":true,"messages":[]}`,
			want: strings.SplitAfter(fakeupstream.DefaultText, " "),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, fakeupstream.Options{Default: tt.reply})
			resp := post(t, context.Background(), s.URL+"/chat/completions", tt.body)
			if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
				t.Fatalf("content type %q", ct)
			}
			events, done, err := sse(t, resp.Body)
			if err != nil || !done {
				t.Fatalf("stream did not end cleanly: done=%v err=%v", done, err)
			}
			if got := contentDeltas(events); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("deltas %q, want %q", got, tt.want)
			}
			last := events[len(events)-1]
			usage, hasUsage := last["usage"].(map[string]any)
			if hasUsage != tt.wantUsage {
				t.Fatalf("final usage chunk %v, want present=%v", last, tt.wantUsage)
			}
			if tt.wantUsage {
				if len(last["choices"].([]any)) != 0 || usage["completion_tokens"] != float64(len(tt.want)) {
					t.Errorf("usage chunk %v", last)
				}
				if v, ok := events[0]["usage"]; !ok || v != nil {
					t.Errorf("first chunk usage = %v, %v; want explicit null", v, ok)
				}
			}
		})
	}
}

func TestStreamToolCalls(t *testing.T) {
	s := start(t, fakeupstream.Options{Default: fakeupstream.Reply{
		ToolCalls: []fakeupstream.ToolCall{{ID: "call_x", Name: "f", Arguments: "{}"}},
	}})
	resp := post(t, context.Background(), s.URL+"/chat/completions", `{"model":"m","stream":true}`)
	events, done, err := sse(t, resp.Body)
	if err != nil || !done {
		t.Fatalf("done=%v err=%v", done, err)
	}
	var sawCall bool
	var finish any
	for _, ev := range events {
		c := ev["choices"].([]any)[0].(map[string]any)
		if calls, ok := c["delta"].(map[string]any)["tool_calls"].([]any); ok {
			call := calls[0].(map[string]any)
			sawCall = call["id"] == "call_x" && call["index"] == 0.0
		}
		if c["finish_reason"] != nil {
			finish = c["finish_reason"]
		}
	}
	if !sawCall || finish != "tool_calls" {
		t.Errorf("tool call seen %v, finish %v", sawCall, finish)
	}
}

func TestErrorReply(t *testing.T) {
	tests := []struct {
		name       string
		reply      fakeupstream.Reply
		wantStatus int
		wantRetry  string
		wantCode   string
	}{
		{"rate limited", fakeupstream.Reply{Status: 429, RetryAfter: 1500 * time.Millisecond, ErrorCode: "rate_limit_exceeded"}, 429, "2", "rate_limit_exceeded"},
		{"server error", fakeupstream.Reply{Status: 500}, 500, "", "fake_error"},
		{"bad request", fakeupstream.Reply{Status: 400, ErrorCode: "context_length_exceeded"}, 400, "", "context_length_exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, fakeupstream.Options{Default: tt.reply})
			resp := post(t, context.Background(), s.URL+"/chat/completions", `{"model":"m","stream":true}`)
			if resp.StatusCode != tt.wantStatus || resp.Header.Get("Retry-After") != tt.wantRetry {
				t.Fatalf("status %d retry-after %q", resp.StatusCode, resp.Header.Get("Retry-After"))
			}
			var body struct {
				Error struct {
					Code    string `json:"code"`
					Message string `json:"message"`
					Type    string `json:"type"`
				} `json:"error"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if body.Error.Code != tt.wantCode || body.Error.Message == "" || body.Error.Type == "" {
				t.Errorf("error body %+v", body.Error)
			}
		})
	}
}

func TestDieMidStream(t *testing.T) {
	tests := []struct {
		name     string
		stream   bool
		dieAfter int
		want     int
	}{
		{"after two chunks", true, 2, 2},
		{"right after headers", true, 0, 0},
		{"non-stream body", false, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, fakeupstream.Options{Default: fakeupstream.Reply{
				Chunks: []string{"a", "b", "c", "d"}, Die: true, DieAfter: tt.dieAfter,
			}})
			body := `{"model":"m","stream":` + map[bool]string{true: "true", false: "false"}[tt.stream] + `}`
			resp := post(t, context.Background(), s.URL+"/chat/completions", body)
			if !tt.stream {
				if _, err := io.ReadAll(resp.Body); !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("read error %v, want unexpected EOF", err)
				}
				return
			}
			events, done, err := sse(t, resp.Body)
			if done || !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("done=%v err=%v; want a broken stream", done, err)
			}
			if got := len(contentDeltas(events)); got != tt.want {
				t.Errorf("got %d deltas before the cut, want %d", got, tt.want)
			}
		})
	}
}

func TestStallSendsHeadersOnly(t *testing.T) {
	s := start(t, fakeupstream.Options{Default: fakeupstream.Reply{Stall: time.Hour}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp := post(t, ctx, s.URL+"/chat/completions", `{"model":"m","stream":true}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	time.AfterFunc(50*time.Millisecond, cancel)
	b, err := io.ReadAll(resp.Body)
	if err == nil || len(b) != 0 {
		t.Errorf("read %q, %v; want nothing before the client gave up", b, err)
	}
}

func TestScriptQueueAndRecording(t *testing.T) {
	s := start(t, fakeupstream.Options{
		Replies: []fakeupstream.Reply{{Text: "first"}, {Text: "second"}},
		Default: fakeupstream.Reply{Text: "rest"},
	})
	bodies := []string{
		`{"model":"a","messages":[{"role":"user","content":[{"type":"text","text":"hi "},{"type":"text","text":"there"}]}],"custom":{"k":1}}`,
		`{"model":"b","stream":true,"stream_options":{"include_usage":true}}`,
		`{"model":"c"}`,
	}
	var answers []string
	for _, b := range bodies {
		resp := post(t, context.Background(), s.URL+"/chat/completions", b)
		raw, _ := io.ReadAll(resp.Body)
		answers = append(answers, string(raw))
	}
	for i, want := range []string{"first", "second", "rest"} {
		if !strings.Contains(answers[i], want) {
			t.Errorf("answer %d = %q, want it to contain %q", i, answers[i], want)
		}
	}
	reqs := s.Requests()
	if len(reqs) != 3 {
		t.Fatalf("recorded %d requests", len(reqs))
	}
	if !bytes.Equal(reqs[0].Body, []byte(bodies[0])) || reqs[0].Seq != 1 || reqs[0].Path != "/v1/chat/completions" {
		t.Errorf("first request recorded as %+v", reqs[0])
	}
	if reqs[0].Messages[0].Content != "hi there" || string(reqs[0].Fields["custom"]) != `{"k":1}` {
		t.Errorf("decoded %+v fields %s", reqs[0].Messages, reqs[0].Fields["custom"])
	}
	if !reqs[1].Stream || !reqs[1].IncludeUsage || reqs[1].Model != "b" {
		t.Errorf("second request decoded as %+v", reqs[1])
	}
}

func TestScriptFunc(t *testing.T) {
	s := start(t, fakeupstream.Options{Script: func(req fakeupstream.Request) fakeupstream.Reply {
		if req.Model == "broken" {
			return fakeupstream.Reply{Status: 503}
		}
		return fakeupstream.Reply{Text: "model " + req.Model}
	}})
	for _, tt := range []struct {
		model  string
		status int
	}{{"broken", 503}, {"fine", 200}} {
		t.Run(tt.model, func(t *testing.T) {
			resp := post(t, context.Background(), s.URL+"/chat/completions", `{"model":"`+tt.model+`"}`)
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
		})
	}
}

func TestInvalidJSON(t *testing.T) {
	s := start(t, fakeupstream.Options{})
	for _, path := range []string{"/chat/completions", "/embeddings"} {
		t.Run(path, func(t *testing.T) {
			resp := post(t, context.Background(), s.URL+path, `{"model":`)
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status %d, want 400", resp.StatusCode)
			}
		})
	}
}

func TestEmbeddings(t *testing.T) {
	s := start(t, fakeupstream.Options{})
	embed := func(body string) [][]float64 {
		t.Helper()
		resp := post(t, context.Background(), s.URL+"/embeddings", body)
		var out struct {
			Object string `json:"object"`
			Data   []struct {
				Index     int       `json:"index"`
				Embedding []float64 `json:"embedding"`
			} `json:"data"`
			Usage struct{ PromptTokens, TotalTokens int } `json:"usage"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Object != "list" {
			t.Fatalf("decode: %v (%+v)", err, out)
		}
		var vecs [][]float64
		for i, d := range out.Data {
			if d.Index != i {
				t.Errorf("index %d at %d", d.Index, i)
			}
			vecs = append(vecs, d.Embedding)
		}
		return vecs
	}
	a := embed(`{"model":"e","input":["alpha","beta"]}`)
	b := embed(`{"model":"e","input":"alpha","dimensions":4}`)
	c := embed(`{"model":"e","input":"alpha"}`)
	if len(a) != 2 || len(a[0]) != 8 || len(b[0]) != 4 {
		t.Fatalf("shapes %d %d %d", len(a), len(a[0]), len(b[0]))
	}
	if !reflect.DeepEqual(a[0], c[0]) || reflect.DeepEqual(a[0], a[1]) {
		t.Errorf("vectors are not a deterministic function of the input")
	}
}

func TestModels(t *testing.T) {
	s := start(t, fakeupstream.Options{Models: []string{"m1", "m2"}})
	resp, err := http.Get(s.URL + "/models")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Data []struct{ ID, Object string } `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	if len(list.Data) != 2 || list.Data[1].ID != "m2" || list.Data[0].Object != "model" {
		t.Errorf("models %+v", list.Data)
	}
	if got := len(s.Requests()); got != 0 {
		t.Errorf("GET /models consumed a request slot: %d recorded", got)
	}
}
