package openai

import (
	"encoding/json"
	"fmt"
)

// Usage is the token accounting an upstream reports.
type Usage struct {
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
	TotalTokens      int64 `json:"total_tokens"`
}

// Tokens returns the total, computing it when the upstream left it out.
func (u *Usage) Tokens() int64 {
	if u == nil {
		return 0
	}
	if u.TotalTokens > 0 {
		return u.TotalTokens
	}
	return u.PromptTokens + u.CompletionTokens
}

// ChatResponse is a non-streamed chat completion as read from an upstream.
// Only the fields the gateway acts on are decoded; Raw keeps every field so
// the response reaches the client as the upstream sent it, changed only
// where moderation changed it.
type ChatResponse struct {
	Choices []ResponseChoice `json:"choices"`
	Usage   *Usage           `json:"usage"`

	Raw map[string]json.RawMessage `json:"-"`
}

// ResponseChoice is one choice of a non-streamed completion.
type ResponseChoice struct {
	Index        int             `json:"index"`
	Message      ResponseMessage `json:"message"`
	FinishReason string          `json:"finish_reason"`
}

// ResponseMessage is the assistant message of a choice.
type ResponseMessage struct {
	Role    string  `json:"role"`
	Content *string `json:"content"`
}

// ParseChatResponse decodes an upstream's chat completion body.
func ParseChatResponse(body []byte) (*ChatResponse, error) {
	var resp ChatResponse
	if err := json.Unmarshal(body, &resp.Raw); err != nil {
		return nil, fmt.Errorf("decode chat completion: %w", err)
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, fmt.Errorf("decode chat completion: %w", err)
	}
	return &resp, nil
}

// Patch changes a response before it goes to the client. Content and
// FinishReason apply to the choice with the given index; nil leaves a field
// as it is.
type Patch struct {
	Index        int
	Content      *string
	FinishReason *string
}

// Encode re-encodes the response with patches applied and extra top-level
// fields added (for example the gateway's moderation report).
func (r *ChatResponse) Encode(patches []Patch, extra map[string]any) ([]byte, error) {
	return encodeObject(r.Raw, "message", patches, extra)
}

// encodeObject re-encodes a response or chunk object: its raw fields, with
// patches applied to the choices (the content lives in field, "message" or
// "delta") and extra fields added.
func encodeObject(raw map[string]json.RawMessage, field string, patches []Patch, extra map[string]any) ([]byte, error) {
	out := make(map[string]json.RawMessage, len(raw)+len(extra))
	for k, v := range raw {
		out[k] = v
	}
	if len(patches) > 0 {
		choices, err := patchChoices(raw["choices"], patches, field)
		if err != nil {
			return nil, err
		}
		out["choices"] = choices
	}
	for k, v := range extra {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", k, err)
		}
		out[k] = b
	}
	return json.Marshal(out)
}

// patchChoices rewrites the content (inside field, "message" or "delta")
// and finish_reason of the choices named by patches, keeping every other
// field of every choice.
func patchChoices(raw json.RawMessage, patches []Patch, field string) (json.RawMessage, error) {
	var choices []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &choices); err != nil {
		return nil, fmt.Errorf("decode choices: %w", err)
	}
	for _, p := range patches {
		for _, c := range choices {
			var idx int
			if err := json.Unmarshal(c["index"], &idx); err != nil && c["index"] != nil {
				return nil, fmt.Errorf("decode choice index: %w", err)
			}
			if idx != p.Index {
				continue
			}
			if err := patchChoice(c, p, field); err != nil {
				return nil, err
			}
		}
	}
	return json.Marshal(choices)
}

func patchChoice(c map[string]json.RawMessage, p Patch, field string) error {
	if p.Content != nil {
		msg := map[string]json.RawMessage{}
		if m, ok := c[field]; ok && string(m) != "null" {
			if err := json.Unmarshal(m, &msg); err != nil {
				return fmt.Errorf("decode %s: %w", field, err)
			}
		}
		content, _ := json.Marshal(*p.Content)
		msg["content"] = content
		b, err := json.Marshal(msg)
		if err != nil {
			return err
		}
		c[field] = b
	}
	if p.FinishReason != nil {
		fr, _ := json.Marshal(*p.FinishReason)
		c["finish_reason"] = fr
	}
	return nil
}
