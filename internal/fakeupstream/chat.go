package fakeupstream

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"strings"
)

type chunk struct {
	ID                string          `json:"id"`
	Object            string          `json:"object"`
	Created           int64           `json:"created"`
	Model             string          `json:"model"`
	SystemFingerprint string          `json:"system_fingerprint"`
	Choices           []chunkChoice   `json:"choices"`
	Usage             json.RawMessage `json:"usage,omitempty"`
}

type chunkChoice struct {
	Index        int       `json:"index"`
	Delta        delta     `json:"delta"`
	Logprobs     *struct{} `json:"logprobs"`
	FinishReason *string   `json:"finish_reason"`
}

type delta struct {
	Role      string         `json:"role,omitempty"`
	Content   *string        `json:"content,omitempty"`
	ToolCalls []toolCallWire `json:"tool_calls,omitempty"`
}

type toolCallWire struct {
	Index    *int   `json:"index,omitempty"` // streams only
	ID       string `json:"id,omitempty"`
	Type     string `json:"type,omitempty"`
	Function struct {
		Name      string `json:"name,omitempty"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

type completion struct {
	ID                string             `json:"id"`
	Object            string             `json:"object"`
	Created           int64              `json:"created"`
	Model             string             `json:"model"`
	SystemFingerprint string             `json:"system_fingerprint"`
	Choices           []completionChoice `json:"choices"`
	Usage             Usage              `json:"usage"`
}

type completionChoice struct {
	Index   int `json:"index"`
	Message struct {
		Role      string         `json:"role"`
		Content   *string        `json:"content"`
		Refusal   *string        `json:"refusal"`
		ToolCalls []toolCallWire `json:"tool_calls,omitempty"`
	} `json:"message"`
	Logprobs     *struct{} `json:"logprobs"`
	FinishReason string    `json:"finish_reason"`
}

func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	req, err := readRequest(r)
	req, rep := s.record(req)
	if err != nil {
		Reply{Status: http.StatusBadRequest, ErrorCode: "invalid_json", ErrorMessage: "request body is not valid JSON"}.writeError(w)
		return
	}
	if !pause(r, rep.HeaderDelay) {
		return
	}
	if rep.failed() {
		rep.writeError(w)
		return
	}
	if rep.Raw != nil {
		writeRaw(w, req.Stream, rep.Raw)
		return
	}
	if req.Stream {
		s.stream(w, r, req, rep)
		return
	}
	s.complete(w, r, req, rep)
}

func (s *Server) complete(w http.ResponseWriter, r *http.Request, req Request, rep Reply) {
	deltas := rep.deltas()
	var c completionChoice
	c.Message.Role = "assistant"
	if len(deltas) > 0 || len(rep.ToolCalls) == 0 {
		text := strings.Join(deltas, "")
		c.Message.Content = &text
	}
	c.Message.ToolCalls = toolCalls(rep.ToolCalls, false)
	c.FinishReason = rep.finishReason()
	body := completion{
		ID: fmt.Sprintf("chatcmpl-fake-%d", req.Seq), Object: "chat.completion", Created: created,
		Model: req.Model, SystemFingerprint: "fp_fake", Choices: []completionChoice{c},
		Usage: rep.usage(req, len(deltas)),
	}
	if rep.Stall > 0 || rep.Die {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_ = http.NewResponseController(w).Flush()
		if rep.Die {
			die(w)
			return
		}
		if !pause(r, rep.Stall) {
			return
		}
		_ = json.NewEncoder(w).Encode(body)
		return
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) stream(w http.ResponseWriter, r *http.Request, req Request, rep Reply) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	if !pause(r, rep.Stall) {
		return
	}
	base := chunk{ID: fmt.Sprintf("chatcmpl-fake-%d", req.Seq), Object: "chat.completion.chunk",
		Created: created, Model: req.Model, SystemFingerprint: "fp_fake"}
	if req.IncludeUsage {
		base.Usage = json.RawMessage("null")
	}
	send := func(c chunk) bool {
		b, _ := json.Marshal(c)
		if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	empty := ""
	first := base
	first.Choices = []chunkChoice{{Delta: delta{Role: "assistant", Content: &empty}}}
	if !send(first) {
		return
	}
	deltas := rep.deltas()
	for i, d := range deltas {
		if rep.Die && i == rep.DieAfter {
			die(w)
			return
		}
		if !pause(r, rep.ChunkDelay) {
			return
		}
		c := base
		c.Choices = []chunkChoice{{Delta: delta{Content: &d}}}
		if !send(c) {
			return
		}
	}
	if rep.Die {
		die(w)
		return
	}
	s.finishStream(send, base, req, rep, len(deltas))
	_, _ = fmt.Fprint(w, "data: [DONE]\n\n")
	_ = rc.Flush()
}

func (s *Server) finishStream(send func(chunk) bool, base chunk, req Request, rep Reply, n int) {
	for i, tc := range rep.ToolCalls {
		if tc.Chunks == nil {
			continue
		}
		for j, piece := range tc.Chunks {
			w := toolCalls([]ToolCall{tc}, true)
			w[0].Index = &i
			w[0].Function.Arguments = piece
			if j > 0 {
				w[0].ID, w[0].Type, w[0].Function.Name = "", "", ""
			}
			c := base
			c.Choices = []chunkChoice{{Delta: delta{ToolCalls: w}}}
			send(c)
		}
	}
	var whole []ToolCall
	for _, tc := range rep.ToolCalls {
		if tc.Chunks == nil {
			whole = append(whole, tc)
		}
	}
	if len(whole) > 0 {
		c := base
		c.Choices = []chunkChoice{{Delta: delta{ToolCalls: toolCalls(whole, true)}}}
		send(c)
	}
	reason := rep.finishReason()
	c := base
	c.Choices = []chunkChoice{{Delta: delta{}, FinishReason: &reason}}
	send(c)
	if req.IncludeUsage {
		u, _ := json.Marshal(rep.usage(req, n))
		c := base
		c.Choices = []chunkChoice{}
		c.Usage = u
		send(c)
	}
}

func toolCalls(calls []ToolCall, indexed bool) []toolCallWire {
	var out []toolCallWire
	for i, tc := range calls {
		w := toolCallWire{ID: tc.ID, Type: "function"}
		if w.ID == "" {
			w.ID = fmt.Sprintf("call_%d", i+1)
		}
		if indexed {
			w.Index = &i
		}
		w.Function.Name, w.Function.Arguments = tc.Name, tc.Arguments
		if tc.Chunks != nil {
			w.Function.Arguments = strings.Join(tc.Chunks, "")
		}
		out = append(out, w)
	}
	return out
}

func (s *Server) embeddings(w http.ResponseWriter, r *http.Request) {
	req, err := readRequest(r)
	req, rep := s.record(req)
	var in struct {
		Input      json.RawMessage `json:"input"`
		Dimensions int             `json:"dimensions"`
	}
	inputs, ierr := []string(nil), error(nil)
	if err == nil {
		err = json.Unmarshal(req.Body, &in)
		inputs, ierr = embeddingInputs(in.Input)
	}
	switch {
	case err != nil:
		Reply{Status: http.StatusBadRequest, ErrorCode: "invalid_json", ErrorMessage: "request body is not valid JSON"}.writeError(w)
		return
	case ierr != nil:
		Reply{Status: http.StatusBadRequest, ErrorCode: "invalid_input", ErrorMessage: ierr.Error()}.writeError(w)
		return
	}
	if !pause(r, rep.HeaderDelay) {
		return
	}
	if rep.failed() {
		rep.writeError(w)
		return
	}
	if rep.Raw != nil {
		writeRaw(w, false, rep.Raw)
		return
	}
	writeJSON(w, http.StatusOK, embeddingList(req, inputs, in.Dimensions, rep))
}

func embeddingInputs(raw json.RawMessage) ([]string, error) {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, nil
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil && len(many) > 0 {
		return many, nil
	}
	return nil, fmt.Errorf("input must be a string or a non-empty array of strings")
}

// embeddingList returns deterministic vectors derived from a hash of each input.
func embeddingList(req Request, inputs []string, dims int, rep Reply) any {
	if dims <= 0 {
		dims = 8
	}
	type item struct {
		Object    string    `json:"object"`
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	}
	items := make([]item, len(inputs))
	chars := 0
	for i, in := range inputs {
		chars += len(in)
		h := fnv.New64a()
		_, _ = h.Write([]byte(in))
		seed := h.Sum64()
		vec := make([]float32, dims)
		for d := range vec {
			seed = seed*6364136223846793005 + 1442695040888963407
			vec[d] = float32(int32(seed>>32)) / (1 << 31)
		}
		items[i] = item{Object: "embedding", Index: i, Embedding: vec}
	}
	u := Usage{PromptTokens: (chars + 3) / 4}
	if rep.Usage != nil {
		u = *rep.Usage
	}
	type usage struct {
		PromptTokens int `json:"prompt_tokens"`
		TotalTokens  int `json:"total_tokens"`
	}
	return struct {
		Object string `json:"object"`
		Data   []item `json:"data"`
		Model  string `json:"model"`
		Usage  usage  `json:"usage"`
	}{Object: "list", Data: items, Model: req.Model, Usage: usage{u.PromptTokens, u.PromptTokens}}
}

// writeRaw answers with bytes as scripted: each an SSE data payload of a
// stream, or the first as a whole answer.
func writeRaw(w http.ResponseWriter, stream bool, raw []string) {
	if !stream {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, raw[0])
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	for _, d := range raw {
		_, _ = fmt.Fprintf(w, "data: %s\n\n", d)
	}
	_, _ = io.WriteString(w, "data: [DONE]\n\n")
}
