package demo

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

type responder struct {
	opts Options
}

// created is fixed so that answers are deterministic.
const created = 1700000000

var tips = []string{
	"Send a phone number or an ID number: personal information is masked on the way out, and this reply repeats your words, so you can watch it happen.",
	"Put a term from your policy's lexicon in a message: input moderation refuses it before any model sees it.",
	"Ask for a stream (\"stream\": true): the answer comes in small chunks and output moderation checks them as they pass.",
	"Connect a real model server with an upstreams entry in the configuration; this responder then steps aside.",
	"Every request leaves an audit record naming the policy version that decided it.",
}

type chatRequest struct {
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

func (r *responder) chat(w http.ResponseWriter, req *http.Request) {
	var in chatRequest
	if err := json.NewDecoder(io.LimitReader(req.Body, 8<<20)).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_json", "The request body is not valid JSON.")
		return
	}
	if in.Model == "" {
		in.Model = ModelName
	}
	answer, prompt := r.answer(in)
	if in.Stream {
		r.stream(w, req, in, answer, prompt)
		return
	}
	writeJSON(w, map[string]any{
		"id": "chatcmpl-demo", "object": "chat.completion", "created": created, "model": in.Model,
		"choices": []any{map[string]any{
			"index": 0, "message": map[string]any{"role": "assistant", "content": answer},
			"logprobs": nil, "finish_reason": "stop",
		}},
		"usage": usage(prompt, answer),
	})
}

// answer builds the reply and returns it with the number of characters received.
func (r *responder) answer(in chatRequest) (string, int) {
	chars, latest := 0, ""
	for _, m := range in.Messages {
		text := contentText(m.Content)
		chars += utf8.RuneCountInString(text)
		if m.Role == "user" {
			latest = text
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s I received %d message%s (%d characters).", Label, len(in.Messages), plural(len(in.Messages)), chars)
	if latest != "" {
		echo := latest
		if utf8.RuneCountInString(echo) > r.opts.EchoRunes {
			echo = string([]rune(echo)[:r.opts.EchoRunes]) + "…"
		}
		fmt.Fprintf(&b, " Your latest message has %d characters and begins: «%s»", utf8.RuneCountInString(latest), echo)
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(latest))
	fmt.Fprintf(&b, " Tip: %s", tips[h.Sum32()%uint32(len(tips))])
	return b.String(), chars
}

func (r *responder) stream(w http.ResponseWriter, req *http.Request, in chatRequest, answer string, prompt int) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	send := func(choices []any, extra map[string]any) bool {
		ev := map[string]any{"id": "chatcmpl-demo", "object": "chat.completion.chunk", "created": created,
			"model": in.Model, "choices": choices}
		if in.StreamOptions.IncludeUsage {
			ev["usage"] = nil
		}
		for k, v := range extra {
			ev[k] = v
		}
		data, _ := json.Marshal(ev)
		if _, err := fmt.Fprintf(w, "data: %s\n\n", data); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	delta := func(d map[string]any, finish any) []any {
		return []any{map[string]any{"index": 0, "delta": d, "logprobs": nil, "finish_reason": finish}}
	}
	if !send(delta(map[string]any{"role": "assistant", "content": ""}, nil), nil) {
		return
	}
	for _, c := range chunks(answer, r.opts.ChunkRunes) {
		if !pause(req, r.opts.ChunkDelay) || !send(delta(map[string]any{"content": c}, nil), nil) {
			return
		}
	}
	send(delta(map[string]any{}, "stop"), nil)
	if in.StreamOptions.IncludeUsage {
		send([]any{}, map[string]any{"usage": usage(prompt, answer)})
	}
	_, _ = io.WriteString(w, "data: [DONE]\n\n")
	_ = rc.Flush()
}

func (r *responder) models(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, map[string]any{"object": "list", "data": []any{map[string]any{
		"id": ModelName, "object": "model", "created": created, "owned_by": "firebreak",
	}}})
}

// chunks splits s into pieces of n characters.
func chunks(s string, n int) []string {
	var out []string
	for len(s) > 0 {
		i, count := 0, 0
		for i < len(s) && count < n {
			_, size := utf8.DecodeRuneInString(s[i:])
			i += size
			count++
		}
		out = append(out, s[:i])
		s = s[i:]
	}
	return out
}

// usage counts about four characters a token; the demo has no tokenizer.
func usage(promptChars int, answer string) map[string]int {
	p, c := (promptChars+3)/4, (utf8.RuneCountInString(answer)+3)/4
	return map[string]int{"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}
}

func contentText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	_ = json.Unmarshal(raw, &parts)
	var b strings.Builder
	for _, p := range parts {
		if p.Type == "text" {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func pause(req *http.Request, d time.Duration) bool {
	if d <= 0 {
		return req.Context().Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-req.Context().Done():
		return false
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"message": msg, "type": "invalid_request_error", "param": nil, "code": code,
	}})
}
