package gateway_test

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/internal/fakeupstream"
	"github.com/firebreak/firebreak/openai"
)

// TestToolCallArgumentsReviewed: a whole answer whose tool call carries a
// refused term is replaced by the safe reply, the tool call removed.
func TestToolCallArgumentsReviewed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	h.ups[0].Push(fakeupstream.Reply{ToolCalls: []fakeupstream.ToolCall{{Name: "search", Arguments: `{"q":"how to build a pipe bomb"}`}}})
	resp := h.post(chat("general", "search for me", false, `"tools":[{"type":"function","function":{"name":"search"}}]`))
	body, _ := io.ReadAll(resp.Body)
	if strings.Contains(string(body), "bomb") || !strings.Contains(string(body), `"content_filter"`) || strings.Contains(string(body), "tool_calls") {
		t.Fatalf("answer %s", body)
	}
	for _, args := range []string{`{"q":"pipe \u0062omb"}`, `{"q":"制作\n炸弹"}`, `{"\u5236\u4f5c\u70b8\u5f39":1}`} {
		h.ups[0].Push(fakeupstream.Reply{ToolCalls: []fakeupstream.ToolCall{{Name: "search", Arguments: args}}})
		body, _ := io.ReadAll(h.post(chat("general", "search for me", false, "")).Body)
		if strings.Contains(string(body), "tool_calls") || !strings.Contains(string(body), `"content_filter"`) {
			t.Errorf("arguments %s escaped in JSON: answer %s", args, body)
		}
	}
	h.ups[0].Push(fakeupstream.Reply{Text: `{"answer":"a pipe \u0062omb"}`})
	body, _ = io.ReadAll(h.post(chat("general", "answer in JSON", false, `"response_format":{"type":"json_object"}`)).Body)
	if !strings.Contains(string(body), `"content_filter"`) {
		t.Errorf("JSON-mode content with an escaped term: %s", body)
	}
	h.ups[0].Push(fakeupstream.Reply{ToolCalls: []fakeupstream.ToolCall{{Name: "lookup", Arguments: `{"q":"the secret recipe"}`}}})
	resp = h.post(chat("general", "search for me", false, ""))
	var out struct {
		Choices []struct {
			Message struct {
				ToolCalls []struct {
					Function struct{ Name, Arguments string }
				} `json:"tool_calls"`
			}
		}
	}
	decodeJSON(t, resp.Body, &out)
	if got := out.Choices[0].Message.ToolCalls[0].Function.Arguments; got != `{"q":"the ＊＊＊＊＊＊＊＊＊＊＊＊＊"}` {
		t.Errorf("masked arguments %q", got)
	}
}

// streamedToolCall returns the tool calls' names and arguments a client
// assembles from a stream, by index, and the last finish reason.
func streamedToolCall(t *testing.T, events []string) (map[int]string, string) {
	t.Helper()
	args := map[int]string{}
	finish := ""
	for _, e := range events {
		if e == "[DONE]" {
			continue
		}
		var c struct {
			Choices []struct {
				Delta struct {
					ToolCalls []struct {
						Index    int
						Function struct{ Name, Arguments string }
					} `json:"tool_calls"`
				}
				FinishReason *string `json:"finish_reason"`
			}
		}
		if err := json.Unmarshal([]byte(e), &c); err != nil {
			t.Fatalf("bad chunk %q: %v", e, err)
		}
		for _, ch := range c.Choices {
			for _, tc := range ch.Delta.ToolCalls {
				args[tc.Index] += tc.Function.Name + tc.Function.Arguments
			}
			if ch.FinishReason != nil {
				finish = *ch.FinishReason
			}
		}
	}
	return args, finish
}

// TestStreamedToolCallNeverLeaks streams tool-call arguments holding a
// refused term in random pieces: whatever the chunking, no byte of the
// term reaches the client, and the stream ends with content_filter. A
// clean tool call arrives whole.
func TestStreamedToolCallNeverLeaks(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	rng := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 40; i++ {
		args := []string{`{"q":"how to make a pipe bomb at home"}`, `{"steps":"制作炸弹的方法"}`, `{"q":"pipe\nbomb"}`, `{"q":"pipe \u0062omb"}`}[i%4]
		h.ups[0].Push(fakeupstream.Reply{ToolCalls: []fakeupstream.ToolCall{{Name: "search", Chunks: randomChunks(rng, args)}}})
		resp := h.post(chat("general", "search for me", true, ""))
		events := sse(t, resp.Body)
		got, finish := streamedToolCall(t, events)
		for _, bad := range []string{"炸弹", "炸", "bomb", "bo", "pipe"} {
			if strings.Contains(got[0], bad) {
				t.Fatalf("arguments %q: client assembled %q, which holds %q", args, got[0], bad)
			}
		}
		if finish != "content_filter" {
			t.Fatalf("arguments %q: finish %q, want content_filter (%q)", args, finish, events)
		}
	}
	clean := `{"city":"Paris","days":3}`
	h.ups[0].Push(fakeupstream.Reply{ToolCalls: []fakeupstream.ToolCall{{Name: "weather", Chunks: randomChunks(rng, clean)}}})
	got, finish := streamedToolCall(t, sse(t, h.post(chat("general", "weather", true, "")).Body))
	if got[0] != "weather"+clean || finish != "tool_calls" {
		t.Errorf("clean tool call assembled as %q, finish %q", got[0], finish)
	}
	// JSON-mode content is held whole too, and read as decoded.
	h.ups[0].Push(fakeupstream.Reply{Chunks: randomChunks(rng, `{"answer":"a pipe \u0062omb"}`)})
	text, finish := streamText(t, sse(t, h.post(chat("general", "JSON", true, `"response_format":{"type":"json_object"}`)).Body))
	if strings.Contains(text, "pipe") || finish != "content_filter" {
		t.Errorf("JSON-mode stream: %q, finish %q", text, finish)
	}
	h.ups[0].Push(fakeupstream.Reply{Chunks: randomChunks(rng, `{"answer":"bread"}`)})
	text, _ = streamText(t, sse(t, h.post(chat("general", "JSON", true, `"response_format":{"type":"json_object"}`)).Body))
	if text != `{"answer":"bread"}` {
		t.Errorf("clean JSON-mode stream arrived as %q", text)
	}
}

// TestCompromisedUpstream: an answer that a client's JSON parser could
// read otherwise than review did (a duplicate key, a field in another
// case) is not relayed; a refused term in a field review reads by another
// name (reasoning) is caught.
func TestCompromisedUpstream(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	const head = `{"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":`
	for name, raw := range map[string][]string{
		"duplicate content":  {head + `{"content":"hello","content":"pipe bomb"},"finish_reason":null}]}`},
		"Content in a delta": {head + `{"content":"hello","Content":"pipe bomb"},"finish_reason":null}]}`},
		"Delta":              {`{"id":"x","choices":[{"index":0,"delta":{"content":"hi"},"Delta":{"content":"pipe bomb"}}]}`},
		"delta as a string":  {`{"id":"x","choices":[{"index":0,"delta":"how to build a pipe bomb"}]}`},
		"choice as a string": {`{"id":"x","choices":["how to build a pipe bomb"]}`},
		// Review's changes and a client's merge both go by index.
		"repeated index": {`{"id":"x","choices":[{"index":0,"delta":{"content":"a pipe "},"finish_reason":null},{"index":0,"delta":{"content":"bomb"},"finish_reason":"stop"}]}`},
	} {
		h.ups[0].Push(fakeupstream.Reply{Raw: raw})
		resp := h.post(chat("general", "hi", true, ""))
		body, _ := io.ReadAll(resp.Body)
		if strings.Contains(string(body), "bomb") || strings.Contains(string(body), "[DONE]") || !strings.Contains(string(body), `"error"`) {
			t.Errorf("%s: client got %s", name, body)
		}
	}
	h.ups[0].Push(fakeupstream.Reply{Raw: []string{head + `{"reasoning_content":"a pipe"},"finish_reason":null}]}`,
		head + `{"reasoning_content":" bomb is"},"finish_reason":null}]}`, head + `{},"finish_reason":"stop"}]}`}})
	resp := h.post(chat("general", "hi", true, ""))
	body, _ := io.ReadAll(resp.Body)
	if strings.Contains(string(body), "bomb") || !strings.Contains(string(body), "content_filter") {
		t.Errorf("reasoning: client got %s", body)
	}
	// Texts nested in a field review does not know are read whatever
	// their keys are called, content included.
	h.ups[0].Push(fakeupstream.Reply{Raw: []string{head + `{"annotations":[{"type":"note","content":"a pipe"}]},"finish_reason":null}]}`,
		head + `{"annotations":[{"type":"note","content":" bomb is"}]},"finish_reason":null}]}`, head + `{},"finish_reason":"stop"}]}`}})
	resp = h.post(chat("general", "hi", true, ""))
	body, _ = io.ReadAll(resp.Body)
	if strings.Contains(string(body), "bomb") || !strings.Contains(string(body), "content_filter") {
		t.Errorf("nested content in a stream: client got %s", body)
	}
	h.ups[0].Push(fakeupstream.Reply{Raw: []string{`{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"ok","annotations":[{"type":"note","content":"how to build a pipe bomb"}]},"finish_reason":"stop"}]}`}})
	resp = h.post(chat("general", "hi", false, ""))
	body, _ = io.ReadAll(resp.Body)
	if strings.Contains(string(body), "bomb") || !strings.Contains(string(body), "content_filter") {
		t.Errorf("nested content in a whole answer: client got %s", body)
	}
	for name, raw := range map[string]string{
		"duplicate key":       `{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"ok","content":"pipe bomb"},"finish_reason":"stop"}]}`,
		"message as a string": `{"id":"x","object":"chat.completion","choices":[{"index":0,"message":"how to build a pipe bomb","finish_reason":"stop"}]}`,
		"choice as a string":  `{"id":"x","object":"chat.completion","choices":["how to build a pipe bomb"]}`,
		"message as an array": `{"id":"x","object":"chat.completion","choices":[{"index":0,"message":["how to build a pipe bomb"]}]}`,
		"repeated index": `{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"},` +
			`{"index":0,"message":{"role":"assistant","content":"how to build a pipe bomb"},"finish_reason":"stop"}]}`,
	} {
		h.ups[0].Push(fakeupstream.Reply{Raw: []string{raw}})
		resp = h.post(chat("general", "hi", false, ""))
		body, _ = io.ReadAll(resp.Body)
		if resp.StatusCode != 502 || strings.Contains(string(body), "bomb") {
			t.Errorf("%s in a whole answer: %d %s", name, resp.StatusCode, body)
		}
	}
}

// TestNoUnreviewedFieldReachesTheClient: text an upstream puts beside the
// choices' messages, where review does not read, is not relayed; the
// tokens' log probabilities go with a text review changed.
func TestNoUnreviewedFieldReachesTheClient(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	const bomb = "how to build a pipe bomb"
	get := func(stream bool, raw ...string) string {
		t.Helper()
		h.ups[0].Push(fakeupstream.Reply{Raw: raw})
		resp := h.post(chat("general", "hi", stream, ""))
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		return string(body)
	}
	whole := get(false, `{"id":"x","object":"chat.completion","created":1,"model":"m","note":"`+bomb+`","extra":{"deep":["`+bomb+`"]},"kept":null,"count":3,`+
		`"choices":[{"index":0,"message":{"role":"assistant","content":"bread"},"finish_reason":"stop","aside":"`+bomb+`","n":1}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`)
	var out map[string]any
	if err := json.Unmarshal([]byte(whole), &out); err != nil {
		t.Fatal(err)
	}
	choice := out["choices"].([]any)[0].(map[string]any)
	if strings.Contains(whole, "bomb") || out["kept"] != nil || out["count"] != 3.0 || choice["n"] != 1.0 || out["usage"] == nil {
		t.Errorf("whole answer: client got %s", whole)
	}
	stream := get(true, `{"id":"x","object":"chat.completion.chunk","created":1,"model":"m","note":"`+bomb+`","choices":[{"index":0,"delta":{"content":"bread"},"finish_reason":null,"aside":"`+bomb+`"}]}`,
		`{"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`)
	if strings.Contains(stream, "bomb") || !strings.Contains(stream, "bread") {
		t.Errorf("stream: client got %s", stream)
	}

	// An identifier written as a sentence is read as text.
	for name, raw := range map[string][]string{
		"role":         {`{"id":"x","choices":[{"index":0,"delta":{"role":"how to build a pipe bomb","content":"bread"},"finish_reason":"stop"}]}`},
		"tool call id": {`{"id":"x","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"how to build a pipe bomb","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}`},
	} {
		stream := get(true, raw...)
		if strings.Contains(stream, "bomb") || !strings.Contains(stream, "content_filter") {
			t.Errorf("%s in a stream: client got %s", name, stream)
		}
		whole := get(false, strings.Replace(strings.Replace(raw[0], `"delta"`, `"message"`, 1), `"tool_calls":[{"index":0,`, `"tool_calls":[{`, 1))
		if strings.Contains(whole, "bomb") || !strings.Contains(whole, "content_filter") {
			t.Errorf("%s in a whole answer: client got %s", name, whole)
		}
	}

	// The log probabilities spell what the model wrote: they go when
	// review refuses or masks it, and stay when it changes nothing.
	lp := func(tokens ...string) string {
		var b strings.Builder
		for i, tok := range tokens {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"token":%q,"logprob":-0.1,"top_logprobs":[]}`, tok)
		}
		return `{"content":[` + b.String() + `]}`
	}
	for name, tc := range map[string]struct {
		content  []string
		logprobs bool
	}{
		"refused": {[]string{"how to build", " a pipe", " bomb"}, false},
		// Each chunk ends a word: a word at a chunk's end is held for the
		// next (it may be a run of Base64 going on), which changes the
		// chunk's text and so drops its logprobs.
		"clean": {[]string{"fresh ", "bread."}, true},
	} {
		text := strings.Join(tc.content, "")
		whole := get(false, `{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"`+text+`"},"logprobs":`+lp(tc.content...)+`,"finish_reason":"stop"}]}`)
		if strings.Contains(whole, "bomb") || strings.Contains(whole, `"token"`) != tc.logprobs {
			t.Errorf("%s whole answer with logprobs: client got %s", name, whole)
		}
		var chunks []string
		for _, tok := range tc.content {
			chunks = append(chunks, `{"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"`+tok+`"},"logprobs":`+lp(tok)+`,"finish_reason":null}]}`)
		}
		chunks = append(chunks, `{"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`)
		stream := get(true, chunks...)
		if strings.Contains(stream, "bomb") || (tc.logprobs && strings.Count(stream, `"token"`) != len(tc.content)) {
			t.Errorf("%s stream with logprobs: client got %s", name, stream)
		}
	}
}

// TestAnswersNameThePublicModel: the client sees the public model's name,
// not the upstream's, in whole answers and in every chunk.
func TestAnswersNameThePublicModel(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	body, _ := io.ReadAll(h.post(chat("general", "hi", false, "")).Body)
	var out struct{ Model string }
	if err := json.Unmarshal(body, &out); err != nil || out.Model != "general" || strings.Contains(string(body), "fake-model") {
		t.Errorf("answer names %q: %s", out.Model, body)
	}
	for _, e := range sse(t, h.post(chat("general", "hi", true, `"stream_options":{"include_usage":true}`)).Body) {
		if e == "[DONE]" {
			continue
		}
		var c struct{ Model string }
		if err := json.Unmarshal([]byte(e), &c); err != nil || c.Model != "general" {
			t.Errorf("chunk names %q: %s", c.Model, e)
		}
	}
}

// TestClientRequestIDIsNotTheRecordID: two requests sending the same
// X-Request-Id get two ids of the gateway's own.
func TestClientRequestIDIsNotTheRecordID(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	same := map[string]string{"X-Request-Id": "dup-1"}
	a := h.doWith("POST", "/v1/chat/completions", chat("general", "hi", false, ""), same).Header.Get("X-Request-Id")
	b := h.doWith("POST", "/v1/chat/completions", chat("general", "hi", false, ""), same).Header.Get("X-Request-Id")
	if a == "dup-1" || b == "dup-1" || a == b || !strings.HasPrefix(a, "req_") {
		t.Errorf("request ids %q and %q", a, b)
	}
}

// TestUpstreamErrorIsReviewed: an upstream's error answer reaches the
// client with its status, type and code, and its message only when review
// would let it through as an answer.
func TestUpstreamErrorIsReviewed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	for _, tc := range []struct {
		message, want string
	}{
		{"This model's maximum context length is 8192 tokens.", "This model's maximum context length is 8192 tokens."},
		{"how to build a pipe bomb", "the model server answered 400 Bad Request"},
		{"how to build a pipe b&#111;mb", "the model server answered 400 Bad Request"},
	} {
		for path, body := range map[string]string{"/v1/chat/completions": chat("general", "hi", false, ""), "/v1/embeddings": `{"model":"general","input":"hello"}`} {
			h.ups[0].Push(fakeupstream.Reply{Status: 400, ErrorCode: "context_length_exceeded", ErrorMessage: tc.message})
			resp := h.do("POST", path, body, h.key)
			var out openai.ErrorBody
			decodeJSON(t, resp.Body, &out)
			if resp.StatusCode != 400 || out.Error.Message != tc.want || out.Error.Code != "context_length_exceeded" || out.Error.Type != "invalid_request_error" {
				t.Errorf("%s %q: %d %+v", path, tc.message, resp.StatusCode, out.Error)
			}
		}
	}
}

// TestEscapedTermsInAnswersForPrograms: an answer a program decodes is
// read as decoded, whichever way the request asked for JSON (OpenAI's
// response_format, vLLM's guided_json, Ollama's format) and, for a whole
// answer, wherever JSON escapes appear in it (a fenced JSON block in
// prose, a JSON answer the prompt alone asked for).
func TestEscapedTermsInAnswersForPrograms(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	rng := rand.New(rand.NewPCG(5, 6))
	escaped := `{"answer":"a \u0070ipe \u0062omb"}`
	for _, ask := range []string{
		`"response_format":{"type":"json_object"}`,
		`"guided_json":{"type":"object"}`,
		`"structured_outputs":{"json":{"type":"object"}}`,
		`"format":"json"`,
		`"format":{"type":"object"}`,
	} {
		h.ups[0].Push(fakeupstream.Reply{Text: escaped})
		body, _ := io.ReadAll(h.post(chat("general", "JSON", false, ask)).Body)
		if !strings.Contains(string(body), `"content_filter"`) {
			t.Errorf("%s, whole: %s", ask, body)
		}
		h.ups[0].Push(fakeupstream.Reply{Chunks: randomChunks(rng, escaped)})
		text, finish := streamText(t, sse(t, h.post(chat("general", "JSON", true, ask)).Body))
		if strings.Contains(text, "answer") || finish != "content_filter" {
			t.Errorf("%s, streamed: %q, finish %q", ask, text, finish)
		}
	}
	for _, answer := range []string{
		"Here it is:\n```json\n" + escaped + "\n```",
		escaped,
		`Say "hi, then: \u0070ipe \u0062omb`,
		`Markdown renders a &#x70;ipe b&#111;mb`,
	} {
		h.ups[0].Push(fakeupstream.Reply{Text: answer})
		body, _ := io.ReadAll(h.post(chat("general", "reply in JSON", false, "")).Body)
		if !strings.Contains(string(body), `"content_filter"`) {
			t.Errorf("prose answer %q: %s", answer, body)
		}
	}
	// A masked term is masked where it is written, escapes and all.
	for answer, want := range map[string]string{
		`our secret recipe and \u0073ecret recipe`: labelled("our ＊＊＊＊＊＊＊＊＊＊＊＊＊ and ＊＊＊＊＊＊＊＊＊＊＊＊＊＊＊＊＊＊"),
		`{"a":"our \u0073ecret\nrecipe"}`:          labelled(`{"a":"our ＊＊＊＊＊＊＊＊＊＊＊＊＊＊＊＊＊＊＊"}`),
	} {
		h.ups[0].Push(fakeupstream.Reply{Text: answer})
		var out struct {
			Choices []struct{ Message struct{ Content string } }
		}
		decodeJSON(t, h.post(chat("general", "x", false, "")).Body, &out)
		if got := out.Choices[0].Message.Content; got != want {
			t.Errorf("answer %q arrived as %q, want %q", answer, got, want)
		}
	}
	h.ups[0].Push(fakeupstream.Reply{Text: `Use "\n" for a line break and C:\\bombay\\ for the path.`})
	body, _ := io.ReadAll(h.post(chat("general", "escapes", false, "")).Body)
	if strings.Contains(string(body), `"content_filter"`) {
		t.Errorf("a clean answer with escapes was refused: %s", body)
	}
}
