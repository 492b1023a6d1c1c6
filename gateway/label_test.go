package gateway_test

import (
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/gateway"
	"github.com/firebreak/firebreak/internal/fakeupstream"
	"github.com/firebreak/firebreak/label"
	"github.com/firebreak/firebreak/policy"
)

// Labels the tests publish; the bundle sets them on the base policy.
const (
	zhLabel = "【本内容由人工智能生成】"
	enLabel = "[AI-generated content]"
)

// publishLabels publishes a bundle of testTerms whose policy.yaml also has
// labels and overlays as given (YAML, indented as top-level sections).
func (h *harness) publishLabels(t *testing.T, position string, more string) *policy.Bundle {
	t.Helper()
	spec := "format: 1\nname: labels\nlabels:\n  explicit: {zh: " + zhLabel + ", en: \"" + enLabel + "\", position: " + position + "}\n" +
		"  implicit: {content_producer: acme-ai, content_propagator: acme-app}\n" + more
	b, err := policy.NewBundle(bundleFiles(spec))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.policy.Publish(t.Context(), b, policy.Change{Reason: "labels " + position}); err != nil {
		t.Fatal(err)
	}
	return b
}

// answer is a labelled answer as the client got it.
type answer struct {
	text, finish string
	aigc         label.AIGC // from the body or the last chunk
	header       label.AIGC // from the AIGC header
	trailer      label.AIGC // from the AIGC trailer of a stream
	labelHeader  string
	usage        json.RawMessage
	requestID    string
}

// ask sends a chat completion and reads the answer, streamed or not.
func (h *harness) ask(t *testing.T, body string, headers map[string]string) answer {
	t.Helper()
	resp := h.doWith(http.MethodPost, "/v1/chat/completions", body, headers)
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	a := answer{labelHeader: resp.Header.Get(gateway.LabelHeader), requestID: resp.Header.Get("X-Request-Id")}
	a.header = parseAIGC(t, resp.Header.Get(label.HeaderName))
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		var out struct {
			Choices []struct {
				Message      struct{ Content string }
				FinishReason string `json:"finish_reason"`
			}
			AIGC  json.RawMessage
			Usage json.RawMessage
		}
		decodeJSON(t, resp.Body, &out)
		a.text, a.finish, a.usage = out.Choices[0].Message.Content, out.Choices[0].FinishReason, out.Usage
		a.aigc = parseAIGC(t, string(out.AIGC))
		return a
	}
	events := sse(t, resp.Body)
	a.text, a.finish = streamText(t, events)
	if events[len(events)-1] != "[DONE]" {
		t.Fatalf("stream did not end with [DONE]: %q", events[len(events)-1])
	}
	for i, e := range events[:len(events)-1] {
		var c struct {
			AIGC  json.RawMessage
			Usage json.RawMessage
		}
		if err := json.Unmarshal([]byte(e), &c); err != nil {
			t.Fatal(err)
		}
		if c.AIGC != nil && i != len(events)-2 {
			t.Errorf("AIGC in chunk %d of %d, want only the last", i, len(events)-1)
		}
		if c.Usage != nil && string(c.Usage) != "null" {
			a.usage = c.Usage
		}
		a.aigc = parseAIGC(t, string(c.AIGC))
	}
	a.trailer = parseAIGC(t, resp.Trailer.Get(label.HeaderName))
	return a
}

func parseAIGC(t *testing.T, s string) label.AIGC {
	t.Helper()
	if s == "" || s == "null" {
		return label.AIGC{}
	}
	a, err := label.ParseAIGC([]byte(s))
	if err != nil {
		t.Fatalf("AIGC %s: %v", s, err)
	}
	return a
}

// checkLabel checks the implicit label of a: the same signed object in
// the body (last chunk) and header (trailer), genuine over the text
// received, its ProduceID the audit record of the request.
func (h *harness) checkLabel(t *testing.T, a answer, stream bool) {
	t.Helper()
	if a.aigc.ReservedCode1 == "" {
		t.Fatalf("no signed AIGC object in the answer: %+v", a.aigc)
	}
	if stream {
		if a.trailer != a.aigc {
			t.Errorf("trailer %+v, last chunk %+v", a.trailer, a.aigc)
		}
		// A model's stream sends its headers before the answer exists:
		// the label in them is unsigned. A refusal is complete at once.
		unsigned := a.aigc
		unsigned.ReservedCode1 = ""
		if a.header != unsigned && a.header != a.aigc {
			t.Errorf("stream header %+v, want the label %+v, or without its signature", a.header, a.aigc)
		}
	} else if a.header != a.aigc {
		t.Errorf("header %+v, body %+v", a.header, a.aigc)
	}
	if a.aigc.Label != "1" || a.aigc.ContentProducer != "acme-ai" || a.aigc.ContentPropagator != "acme-app" || a.aigc.PropagateID != a.requestID {
		t.Errorf("AIGC fields %+v", a.aigc)
	}
	r := label.Verify(label.Claim{AIGC: a.aigc, Text: a.text}, label.NewKeys(h.labelKey), nil, false)
	if r.Verdict != label.Genuine {
		t.Errorf("verify %+v over %q", r, a.text)
	}
	if h.trail == nil {
		return
	}
	es := h.records(audit.Query{RequestID: a.requestID})
	if len(es) != 1 || es[0].ID != a.aigc.ProduceID {
		t.Fatalf("records of %s: %+v, want one with id %s", a.requestID, es, a.aigc.ProduceID)
	}
	rec, err := label.ParseRecord(es[0].Label)
	if err != nil {
		t.Fatal(err)
	}
	if rec.AIGC != a.aigc || rec.TextSHA256 != label.TextHash(a.text) {
		t.Errorf("audit record label %+v, answer %+v", rec, a.aigc)
	}
}

func TestLabelPlacements(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{audit: true})
	tests := []struct {
		position, prompt, answer, accept string
		want                             string
	}{
		{"end", "你好", "你好，我是助手。", "", "你好，我是助手。\n\n" + zhLabel},
		{"start", "hello", "Hello, I am an assistant.", "", enLabel + "\n\nHello, I am an assistant."},
		{"both", "hello", "Hello there.", "", enLabel + "\n\nHello there.\n\n" + enLabel},
		{"end", "hello", "Hello there.", "zh-CN,zh;q=0.9", "Hello there.\n\n" + zhLabel},
		{"start", "你好", "你好。", "en-US", enLabel + "\n\n你好。"},
	}
	for _, tt := range tests {
		h.publishLabels(t, tt.position, "")
		for _, stream := range []bool{false, true} {
			name := tt.position + "/" + tt.answer + "/" + map[bool]string{false: "complete", true: "stream"}[stream]
			t.Run(name, func(t *testing.T) {
				h.ups[0].Push(fakeupstream.Reply{Text: tt.answer, Usage: &fakeupstream.Usage{PromptTokens: 5, CompletionTokens: 7, TotalTokens: 12}})
				a := h.ask(t, chat("general", tt.prompt, stream, `"stream_options":{"include_usage":true}`), map[string]string{"Accept-Language": tt.accept})
				if a.text != tt.want || a.finish != "stop" {
					t.Errorf("answer %q (%s), want %q", a.text, a.finish, tt.want)
				}
				if a.labelHeader != "explicit" {
					t.Errorf("%s = %q", gateway.LabelHeader, a.labelHeader)
				}
				if string(a.usage) != `{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}` {
					t.Errorf("usage %s, want the upstream's unchanged", a.usage)
				}
				h.checkLabel(t, a, stream)
			})
		}
	}
}

// TestLabelStreamChunkings: for random chunkings of a streamed answer, with
// the finish reason alone or with the last delta and review holding back
// what may grow into a term, the client receives exactly the model's text
// plus the label in the configured places, once.
func TestLabelStreamChunkings(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	r := rand.New(rand.NewPCG(13, 45))
	texts := []string{"这是一个关于管道和炸药之外的安全回答。", "A pipe bo- no: a pipe organ plays borderless music.", "短"}
	for _, position := range []string{"start", "end", "both"} {
		h.publishLabels(t, position, "")
		for i := range 12 {
			text := texts[i%len(texts)]
			var chunks []string
			for rest := []rune(text); len(rest) > 0; {
				n := 1 + r.IntN(min(len(rest), 6))
				chunks = append(chunks, string(rest[:n]))
				rest = rest[n:]
			}
			h.ups[0].Push(fakeupstream.Reply{Chunks: chunks})
			a := h.ask(t, chat("general", text, true, ""), nil)
			lbl := zhLabel
			if label.Detect(text) == label.En {
				lbl = enLabel
			}
			want := map[string]string{"start": lbl + "\n\n" + text, "end": text + "\n\n" + lbl, "both": lbl + "\n\n" + text + "\n\n" + lbl}[position]
			if a.text != want || a.finish != "stop" {
				t.Fatalf("%s, chunks %q: got %q (%s), want %q", position, chunks, a.text, a.finish, want)
			}
			h.checkLabel(t, a, true)
		}
	}
}

// TestLabelParsedContent: JSON-mode and tool-call answers carry only the
// implicit label, so clients that parse the content still can.
func TestLabelParsedContent(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	h.publishLabels(t, "both", "")
	const obj = `{"city":"Paris","temp":21}`
	for _, stream := range []bool{false, true} {
		h.ups[0].Push(fakeupstream.Reply{Text: obj})
		a := h.ask(t, chat("general", "weather as JSON", stream, `"response_format":{"type":"json_object"}`), nil)
		if a.text != obj || a.labelHeader != "implicit; json" {
			t.Errorf("JSON mode (stream %v): %q, %s = %q", stream, a.text, gateway.LabelHeader, a.labelHeader)
		}
		h.checkLabel(t, a, stream)

		h.ups[0].Push(fakeupstream.Reply{ToolCalls: []fakeupstream.ToolCall{{ID: "call_1", Name: "get_weather", Arguments: `{"city":"Paris"}`}}})
		resp := h.post(chat("general", "weather?", stream, `"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]`))
		body, _ := io.ReadAll(resp.Body)
		if strings.Contains(string(body), "人工智能") || strings.Contains(string(body), "AI-generated") ||
			!strings.Contains(string(body), `"AIGC":{"Label":"1"`) || !strings.Contains(string(body), "get_weather") {
			t.Errorf("tool-call answer (stream %v): %s", stream, body)
		}
	}
}

// TestLabelNotStrippedByParsedModes: the explicit label is left out only
// of content that programs parse. A client that asks for JSON mode from a
// model that ignores it, or for tools from a model that writes prose
// beside its call, gets prose that people read: it is labelled, whole and
// streamed, with the policy's start-only placement too (a stream's start
// label cannot wait for the text to show it is not JSON, so it goes at
// the end).
func TestLabelNotStrippedByParsedModes(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	const prose = "The weather in Paris is sunny and 21 degrees."
	call := []fakeupstream.ToolCall{{ID: "call_1", Name: "get_weather", Arguments: `{"city":"Paris"}`}}
	for _, position := range []string{"end", "start"} {
		h.publishLabels(t, position, "")
		for _, stream := range []bool{false, true} {
			h.ups[0].Push(fakeupstream.Reply{Text: prose})
			a := h.ask(t, chat("general", "weather as JSON", stream, `"response_format":{"type":"json_object"}`), nil)
			if !strings.Contains(a.text, prose) || !labelledAnywhere(a.text) || !stream && a.labelHeader != "explicit" {
				t.Errorf("JSON mode, prose answer (%s, stream %v): %q", position, stream, a.text)
			}
			h.checkLabel(t, a, stream)

			h.ups[0].Push(fakeupstream.Reply{Text: prose, ToolCalls: call})
			resp := h.post(chat("general", "weather?", stream, `"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]`))
			body, _ := io.ReadAll(resp.Body)
			if !strings.Contains(string(body), "get_weather") || !strings.Contains(string(body), "AI-generated") {
				t.Errorf("prose beside a tool call (%s, stream %v): %s", position, stream, body)
			}
		}
	}
}

func labelledAnywhere(text string) bool {
	return endsLabelled(text) || strings.HasPrefix(text, zhLabel+"\n\n") || strings.HasPrefix(text, enLabel+"\n\n")
}

// TestLabelSafeReplies: refused prompts and stopped answers carry the safe
// reply, labelled or not as the policy says, and the stop still leaks no
// part of the term.
func TestLabelSafeReplies(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	for _, labelled := range []bool{true, false} {
		h.publishLabels(t, "end", "overlays:\n  route:general:\n    labels: {explicit: {safe_replies: "+map[bool]string{true: "true", false: "false"}[labelled]+"}}\n")
		for _, stream := range []bool{false, true} {
			a := h.ask(t, chat("general", "教我制作炸弹", stream, ""), nil)
			if a.finish != "content_filter" || endsLabelled(a.text) != labelled {
				t.Errorf("refused prompt (stream %v, labelled %v): %q", stream, labelled, a.text)
			}
			h.checkLabel(t, a, stream)
		}
		h.ups[0].Push(fakeupstream.Reply{Chunks: []string{"好的，", "这是", "pipe", " bomb", "的做法"}})
		a := h.ask(t, chat("general", "hello", true, ""), nil)
		if a.finish != "content_filter" || strings.Contains(a.text, "bomb") || endsLabelled(a.text) != labelled ||
			!strings.HasPrefix(a.text, "好的，这是") {
			t.Errorf("stopped stream (labelled %v): %q", labelled, a.text)
		}
		h.checkLabel(t, a, true)
	}
}

func endsLabelled(text string) bool {
	return strings.HasSuffix(text, "\n\n"+zhLabel) || strings.HasSuffix(text, "\n\n"+enLabel)
}

// TestUnlabelledByAgreement: output goes without the explicit label only
// where the tenant's overlay allows it, for a request that names its end
// user and carries the agreement; the audit record names the recipient.
func TestUnlabelledByAgreement(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{audit: true})
	agree := map[string]string{gateway.AgreementHeader: "agreement-2026-03-v2"}
	ask := func(user string, headers map[string]string) answer {
		h.ups[0].Push(fakeupstream.Reply{Text: "你好。"})
		extra := ""
		if user != "" {
			extra = `"user":"` + user + `"`
		}
		return h.ask(t, chat("general", "你好", false, extra), headers)
	}
	h.publishLabels(t, "end", "")
	if a := ask("alice", agree); a.text != "你好。\n\n"+zhLabel || a.labelHeader != "explicit" {
		t.Errorf("tenant has not enabled it: %q, %q", a.text, a.labelHeader)
	}
	h.publishLabels(t, "end", "overlays:\n  tenant:default:\n    labels: {allow_unlabelled: true}\n")
	if a := ask("", agree); a.text != "你好。\n\n"+zhLabel {
		t.Errorf("no end user to record as the recipient: %q", a.text)
	}
	if a := ask("alice", nil); a.text != "你好。\n\n"+zhLabel {
		t.Errorf("no agreement: %q", a.text)
	}
	a := ask("alice", agree)
	if a.text != "你好。" || a.labelHeader != "implicit; agreement" {
		t.Fatalf("unlabelled by agreement: %q, %q", a.text, a.labelHeader)
	}
	h.checkLabel(t, a, false)
	es := h.records(audit.Query{RequestID: a.requestID})
	rec, err := label.ParseRecord(es[0].Label)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Unlabelled == nil || rec.Unlabelled.Recipient != es[0].EndUser || es[0].EndUser == "" ||
		rec.Unlabelled.Agreement != "agreement-2026-03-v2" || rec.Explicit != "none" || rec.Omitted != label.OmitAgreement {
		t.Errorf("audit label %+v (end user %q)", rec, es[0].EndUser)
	}
	resp := h.doWith(http.MethodPost, "/v1/chat/completions", chat("general", "hi", false, `"user":"alice"`),
		map[string]string{gateway.AgreementHeader: `bad"ref`})
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("malformed agreement reference: status %d", resp.StatusCode)
	}
}

// TestLabelsFollowPolicy: publish and rollback change the label of the
// next answer.
func TestLabelsFollowPolicy(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	h.publishLabels(t, "end", "")
	get := func() string {
		h.ups[0].Push(fakeupstream.Reply{Text: "你好。"})
		return h.ask(t, chat("general", "你好", false, ""), nil).text
	}
	if got := get(); got != "你好。\n\n"+zhLabel {
		t.Fatalf("first version: %q", got)
	}
	h.publishLabels(t, "start", "")
	if got := get(); got != zhLabel+"\n\n你好。" {
		t.Errorf("after publish: %q", got)
	}
	if _, err := h.policy.Rollback(t.Context(), "", policy.Change{Reason: "back"}); err != nil {
		t.Fatal(err)
	}
	if got := get(); got != "你好。\n\n"+zhLabel {
		t.Errorf("after rollback: %q", got)
	}
}

// TestLabelBindsEachChoice: the label of an answer with several choices
// covers each choice's text, not only their concatenation: it covered
// "The dose is 1" + "0 mg daily", so the two answers shown as one, or
// text moved across the boundary (under an agreement without explicit
// labels, "The dose is 10 mg daily" and ""), verified as genuine. Read
// as label verify reads a saved completion, whole and streamed; a genuine
// answer whose choices came out of order verifies too.
func TestLabelBindsEachChoice(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{audit: true})
	h.publishLabels(t, "start", "")
	whole := `{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[` +
		`{"index":1,"message":{"role":"assistant","content":"0 mg daily"},"finish_reason":"stop"},` +
		`{"index":0,"message":{"role":"assistant","content":"The dose is 1"},"finish_reason":"stop"}]}`
	head := `{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[`
	stream := []string{
		head + `{"index":0,"delta":{"role":"assistant","content":"The dose is 1"},"finish_reason":null},{"index":1,"delta":{"role":"assistant","content":"0 mg daily"},"finish_reason":null}]}`,
		head + `{"index":0,"delta":{},"finish_reason":"stop"},{"index":1,"delta":{},"finish_reason":"stop"}]}`,
	}
	keys := label.NewKeys(h.labelKey)
	for _, streamed := range []bool{false, true} {
		raw := []string{whole}
		if streamed {
			raw = stream
		}
		h.ups[0].Push(fakeupstream.Reply{Raw: raw})
		resp := h.post(chat("general", "dose?", streamed, `"n":2`))
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		texts, aigc := choiceTexts(t, resp, streamed)
		if len(texts) != 2 || !strings.HasSuffix(texts[0], "The dose is 1") || !strings.HasSuffix(texts[1], "0 mg daily") {
			t.Fatalf("streamed %v: choices %q", streamed, texts)
		}
		completion := func(texts []string) []byte {
			var c struct {
				Choices []map[string]any `json:"choices"`
			}
			for i, s := range texts {
				c.Choices = append(c.Choices, map[string]any{"index": i, "message": map[string]any{"role": "assistant", "content": s}})
			}
			b, _ := json.Marshal(c)
			return b
		}
		verify := func(texts []string) label.Result {
			text, ok, err := label.CompletionText(completion(texts))
			if err != nil || !ok {
				t.Fatalf("completion text: %v %v", ok, err)
			}
			return label.Verify(label.Claim{AIGC: aigc, Text: text}, keys, nil, false)
		}
		if r := verify(texts); r.Verdict != label.Genuine {
			t.Errorf("streamed %v: the answer as delivered: %+v", streamed, r)
		}
		moved := []string{texts[0] + texts[1], ""} // one answer that reads both

		if r := verify(moved); r.Verdict != label.Altered {
			t.Errorf("streamed %v: text moved between choices %q verifies %+v", streamed, moved, r)
		}
		es := h.records(audit.Query{ID: aigc.ProduceID})
		if len(es) != 1 {
			t.Fatalf("records %d", len(es))
		}
		rec, err := label.ParseRecord(es[0].Label)
		if err != nil || rec.TextSHA256 != label.TextHash(mustText(t, completion(texts))) {
			t.Errorf("streamed %v: the record's text hash is not the answer's (%v)", streamed, err)
		}
	}
}

func mustText(t *testing.T, completion []byte) string {
	t.Helper()
	text, _, err := label.CompletionText(completion)
	if err != nil {
		t.Fatal(err)
	}
	return text
}

// choiceTexts reads each choice's text, by index, and the signed label of
// an answer, whole or streamed.
func choiceTexts(t *testing.T, resp *http.Response, streamed bool) ([]string, label.AIGC) {
	t.Helper()
	var texts []string
	add := func(i int, s string) {
		for len(texts) <= i {
			texts = append(texts, "")
		}
		texts[i] += s
	}
	if !streamed {
		var out struct {
			Choices []struct {
				Index   int
				Message struct{ Content string }
			}
			AIGC json.RawMessage
		}
		decodeJSON(t, resp.Body, &out)
		for _, ch := range out.Choices {
			add(ch.Index, ch.Message.Content)
		}
		return texts, parseAIGC(t, string(out.AIGC))
	}
	var aigc label.AIGC
	for _, e := range sse(t, resp.Body) {
		if e == "[DONE]" {
			continue
		}
		var c struct {
			Choices []struct {
				Index int
				Delta struct{ Content string }
			}
			AIGC json.RawMessage
		}
		if err := json.Unmarshal([]byte(e), &c); err != nil {
			t.Fatalf("chunk %q: %v", e, err)
		}
		for _, ch := range c.Choices {
			add(ch.Index, ch.Delta.Content)
		}
		if len(c.AIGC) > 0 {
			aigc = parseAIGC(t, string(c.AIGC))
		}
	}
	return texts, aigc
}

// TestLabelHeaderSaysWhatWasPlaced: on a whole answer, X-Firebreak-Label
// says "explicit" only when an explicit label is in the text. A tool-call
// answer, or one whose only text is the model's refusal field, carries
// none, and the header said "explicit".
func TestLabelHeaderSaysWhatWasPlaced(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	h.publishLabels(t, "end", "")
	for _, tt := range []struct{ name, raw, want string }{
		{"prose", `{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hello"},"finish_reason":"stop"}]}`, "explicit"},
		{"tool call", `{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}`, "implicit; tools"},
		{"refusal only", `{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":"I can't help with that"},"finish_reason":"stop"}]}`, "implicit; empty"},
	} {
		h.ups[0].Push(fakeupstream.Reply{Raw: []string{tt.raw}})
		a := h.ask(t, chat("general", "hi", false, ""), nil)
		if a.labelHeader != tt.want {
			t.Errorf("%s: %s = %q, want %q (text %q)", tt.name, gateway.LabelHeader, a.labelHeader, tt.want, a.text)
		}
	}
}
