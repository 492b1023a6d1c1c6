package fakeupstream

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Reply scripts the server's answer to one request. The zero value answers
// DefaultText with status 200.
type Reply struct {
	// Text is the whole answer. When Chunks is nil it is streamed word by
	// word (each delta is a word with its trailing space).
	Text string
	// Chunks, when set, is the exact list of content deltas of a stream; a
	// non-stream answer is their concatenation. It wins over Text.
	Chunks []string
	// ToolCalls are returned with the answer (finish_reason "tool_calls").
	ToolCalls []ToolCall
	// FinishReason defaults to "stop", or "tool_calls" when ToolCalls is set.
	FinishReason string
	// Usage overrides the computed token counts (prompt: request characters
	// / 4, completion: number of deltas; this is not a tokenizer).
	Usage *Usage
	// Raw, when set, is sent as it is, for a model server that misbehaves:
	// each element an SSE data payload of a stream (then [DONE]), or the
	// first one as the whole body of a non-stream answer or an embeddings
	// list.
	Raw []string

	// Status, when not 0 or 200, answers with an OpenAI error body.
	Status       int
	ErrorCode    string        // error.code; default "fake_error"
	ErrorMessage string        // error.message; default the status text
	RetryAfter   time.Duration // sent as Retry-After (whole seconds, rounded up)

	// HeaderDelay is the pause before the response headers are sent.
	HeaderDelay time.Duration
	// ChunkDelay is the pause before each content delta of a stream.
	ChunkDelay time.Duration
	// Stall is a pause right after the headers, before any body byte.
	Stall time.Duration
	// Die closes the TCP connection without ending the response after
	// DieAfter content deltas (0: right after the headers).
	Die      bool
	DieAfter int
}

// ToolCall is a function call the scripted model makes.
type ToolCall struct {
	ID        string // default "call_<n>"
	Name      string
	Arguments string // JSON text
	// Chunks, when set, streams the arguments in these pieces, one chunk
	// each (the first also carrying id and name), as model servers do;
	// a non-stream answer gets their concatenation. It wins over Arguments.
	Chunks []string
}

// Usage is the OpenAI usage object.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// created is the fixed "created" timestamp, so that answers are deterministic.
const created = 1700000000

// deltas returns the content deltas of the reply.
func (rep Reply) deltas() []string {
	if rep.Chunks != nil {
		return rep.Chunks
	}
	text := rep.Text
	if text == "" && len(rep.ToolCalls) == 0 {
		text = DefaultText
	}
	if text == "" {
		return nil
	}
	return strings.SplitAfter(text, " ")
}

func (rep Reply) finishReason() string {
	switch {
	case rep.FinishReason != "":
		return rep.FinishReason
	case len(rep.ToolCalls) > 0:
		return "tool_calls"
	}
	return "stop"
}

func (rep Reply) usage(req Request, deltas int) Usage {
	if rep.Usage != nil {
		return *rep.Usage
	}
	chars := 0
	for _, m := range req.Messages {
		chars += len(m.Content)
	}
	if req.Messages == nil {
		chars = len(req.Body)
	}
	u := Usage{PromptTokens: (chars + 3) / 4, CompletionTokens: deltas}
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	return u
}

func (rep Reply) failed() bool { return rep.Status != 0 && rep.Status != http.StatusOK }

// writeError answers with the scripted status and an OpenAI error body.
func (rep Reply) writeError(w http.ResponseWriter) {
	if rep.RetryAfter > 0 {
		secs := int((rep.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	code, msg := rep.ErrorCode, rep.ErrorMessage
	if code == "" {
		code = "fake_error"
	}
	if msg == "" {
		msg = http.StatusText(rep.Status)
	}
	typ := "server_error"
	if rep.Status < 500 {
		typ = "invalid_request_error"
	}
	writeJSON(w, rep.Status, map[string]any{"error": map[string]any{
		"message": msg, "type": typ, "param": nil, "code": code,
	}})
}

// die flushes what was written and closes the connection without ending the
// HTTP response, as a crashing model server does.
func die(w http.ResponseWriter) {
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	conn, _, err := rc.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // HTTP/2: abort the stream instead
	}
	_ = conn.Close()
}

// readRequest reads and decodes the body of r.
func readRequest(r *http.Request) (Request, error) {
	body, err := io.ReadAll(r.Body)
	req := Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body}
	if err != nil {
		return req, err
	}
	if err := json.Unmarshal(body, &req.Fields); err != nil {
		return req, err
	}
	var known struct {
		Model         string `json:"model"`
		Stream        bool   `json:"stream"`
		StreamOptions struct {
			IncludeUsage bool `json:"include_usage"`
		} `json:"stream_options"`
		Messages []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(body, &known); err != nil {
		return req, err
	}
	req.Model, req.Stream, req.IncludeUsage = known.Model, known.Stream, known.StreamOptions.IncludeUsage
	for _, m := range known.Messages {
		req.Messages = append(req.Messages, Message{Role: m.Role, Content: contentText(m.Content)})
	}
	return req, nil
}

// contentText returns the text of a message content: a string, or an array
// of parts of which the "text" ones are concatenated.
func contentText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) != nil {
		return ""
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type == "text" {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}
