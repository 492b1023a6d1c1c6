package openai

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
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

func usageOf(u gjson.Result) *Usage {
	if !u.IsObject() {
		return nil
	}
	return &Usage{PromptTokens: u.Get("prompt_tokens").Int(), CompletionTokens: u.Get("completion_tokens").Int(),
		TotalTokens: u.Get("total_tokens").Int()}
}

// ChatResponse is a non-streamed chat completion as read from an upstream.
// Like ChatChunk it keeps the upstream's bytes and patches them in place.
type ChatResponse struct {
	Choices []ResponseChoice
	Usage   *Usage

	data []byte
}

// ResponseChoice is one choice of a non-streamed completion.
type ResponseChoice struct {
	Index        int
	Message      ResponseMessage
	FinishReason string

	pos int
}

// ResponseMessage is the assistant message of a choice.
type ResponseMessage struct {
	Role    string
	Content *string
	// ToolCalls says the message carries tool calls (or a legacy
	// function_call).
	ToolCalls bool
}

// ParseChatResponse reads an upstream's chat completion body.
func ParseChatResponse(body []byte) (*ChatResponse, error) {
	if !gjson.ValidBytes(body) {
		return nil, errors.New("decode chat completion: invalid JSON")
	}
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return nil, errors.New("decode chat completion: not an object")
	}
	r := &ChatResponse{data: body, Usage: usageOf(root.Get("usage"))}
	pos := 0
	root.Get("choices").ForEach(func(_, ch gjson.Result) bool {
		rc := ResponseChoice{Index: int(ch.Get("index").Int()), FinishReason: ch.Get("finish_reason").String(), pos: pos}
		pos++
		msg := ch.Get("message")
		rc.Message.Role = msg.Get("role").String()
		if c := msg.Get("content"); c.Type == gjson.String {
			s := c.String()
			rc.Message.Content = &s
		}
		rc.Message.ToolCalls = hasToolCalls(msg)
		r.Choices = append(r.Choices, rc)
		return true
	})
	return r, nil
}

// Patch changes a response before it goes to the client. Content and
// FinishReason apply to the choice with the given index; nil leaves a field
// as it is.
type Patch struct {
	Index        int
	Content      *string
	FinishReason *string
}

// Encode returns the response with patches applied and extra top-level
// fields added (for example the gateway's review report).
func (r *ChatResponse) Encode(patches []Patch, extra map[string]any) ([]byte, error) {
	return patch(r.data, "message", func(index int) (int, bool) {
		for _, ch := range r.Choices {
			if ch.Index == index {
				return ch.pos, true
			}
		}
		return 0, false
	}, patches, extra)
}

// patch applies patches to a copy of data: the content (inside field,
// "message" or "delta") and finish_reason of the choice at the position
// pos returns for a choice index, and extra top-level fields.
func patch(data []byte, field string, pos func(index int) (int, bool), patches []Patch, extra map[string]any) ([]byte, error) {
	out := append([]byte(nil), data...)
	var err error
	for _, p := range patches {
		at, ok := pos(p.Index)
		if !ok {
			continue
		}
		base := "choices." + strconv.Itoa(at) + "."
		if p.Content != nil {
			if out, err = sjson.SetBytes(out, base+field+".content", *p.Content); err != nil {
				return nil, fmt.Errorf("patch content: %w", err)
			}
		}
		if p.FinishReason != nil {
			if out, err = sjson.SetBytes(out, base+"finish_reason", *p.FinishReason); err != nil {
				return nil, fmt.Errorf("patch finish reason: %w", err)
			}
		}
	}
	for k, v := range extra {
		b, ok := v.(json.RawMessage) // as given: Marshal would escape <, > and &
		if !ok {
			if b, err = json.Marshal(v); err != nil {
				return nil, fmt.Errorf("encode %s: %w", k, err)
			}
		}
		if out, err = sjson.SetRawBytes(out, k, b); err != nil {
			return nil, fmt.Errorf("add %s: %w", k, err)
		}
	}
	return out, nil
}
