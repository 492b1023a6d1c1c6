package openai

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
)

// TextParts returns the message's text pieces in order: the string content
// as one piece, or each text part of an array content.
func (m Message) TextParts() []string {
	c := bytes.TrimSpace(m.Content)
	if len(c) == 0 || c[0] == 'n' {
		return nil
	}
	if c[0] == '"' {
		var s string
		_ = json.Unmarshal(c, &s)
		return []string{s}
	}
	var parts []ContentPart
	_ = json.Unmarshal(c, &parts)
	var out []string
	for _, p := range parts {
		if p.Type == "text" || p.Type == "input_text" {
			out = append(out, p.Text)
		}
	}
	return out
}

// WithTexts returns a copy of the request in which message i's text pieces
// (as TextParts lists them) are replaced by texts, in order. Every other
// field of the message and of the request is kept.
func (r *ChatRequest) WithTexts(i int, texts []string) (*ChatRequest, error) {
	var msgs []map[string]json.RawMessage
	if err := json.Unmarshal(r.Raw["messages"], &msgs); err != nil {
		return nil, fmt.Errorf("decode messages: %w", err)
	}
	if i < 0 || i >= len(msgs) {
		return nil, fmt.Errorf("message %d out of range", i)
	}
	content, err := replaceTexts(msgs[i]["content"], texts)
	if err != nil {
		return nil, err
	}
	msgs[i]["content"] = content
	rawMsgs, err := json.Marshal(msgs)
	if err != nil {
		return nil, err
	}
	out := *r
	out.Raw = make(map[string]json.RawMessage, len(r.Raw))
	for k, v := range r.Raw {
		out.Raw[k] = v
	}
	out.Raw["messages"] = rawMsgs
	out.Messages = slices.Clone(r.Messages)
	out.Messages[i].Content = content
	return &out, nil
}

func replaceTexts(content json.RawMessage, texts []string) (json.RawMessage, error) {
	c := bytes.TrimSpace(content)
	if len(c) > 0 && c[0] == '"' {
		if len(texts) != 1 {
			return nil, fmt.Errorf("string content takes one text, got %d", len(texts))
		}
		return json.Marshal(texts[0])
	}
	var parts []map[string]json.RawMessage
	if err := json.Unmarshal(c, &parts); err != nil {
		return nil, fmt.Errorf("decode content parts: %w", err)
	}
	n := 0
	for _, p := range parts {
		var typ string
		_ = json.Unmarshal(p["type"], &typ)
		if typ != "text" && typ != "input_text" {
			continue
		}
		if n >= len(texts) {
			return nil, fmt.Errorf("content has more text parts than the %d texts given", len(texts))
		}
		b, _ := json.Marshal(texts[n])
		p["text"] = b
		n++
	}
	if n != len(texts) {
		return nil, fmt.Errorf("content has %d text parts, %d texts given", n, len(texts))
	}
	return json.Marshal(parts)
}
