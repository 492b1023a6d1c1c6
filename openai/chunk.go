package openai

import (
	"errors"
	"fmt"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// ChatChunk is one streamed chunk ("chat.completion.chunk") as read from an
// upstream. It keeps the chunk's bytes: a chunk review does not change
// reaches the client as the upstream sent it, and one it does change is
// patched in place, every other field untouched. Chunks are the hottest
// JSON on a stream, so they are read and patched with gjson/sjson rather
// than decoded into maps.
type ChatChunk struct {
	Choices []ChunkChoice
	Usage   *Usage

	data     []byte
	hasError bool
}

// ChunkChoice is one choice's delta in a chunk.
type ChunkChoice struct {
	Index        int
	Delta        Delta
	FinishReason *string

	pos int // position in the choices array
}

// Delta is the incremental message of a chunk choice.
type Delta struct {
	Role    string
	Content *string
	// ToolCalls says the delta carries tool calls (or a legacy
	// function_call): the answer is for a program, not a person.
	ToolCalls bool
}

// ParseChatChunk reads one SSE data payload of a chat completion stream.
func ParseChatChunk(data []byte) (*ChatChunk, error) {
	if !gjson.ValidBytes(data) {
		return nil, errors.New("decode chunk: invalid JSON")
	}
	root := gjson.ParseBytes(data)
	if !root.IsObject() {
		return nil, errors.New("decode chunk: not an object")
	}
	c := &ChatChunk{data: data}
	if e := root.Get("error"); e.Exists() && e.Type != gjson.Null {
		c.hasError = true
	}
	choices := root.Get("choices")
	if choices.Exists() && !choices.IsArray() && choices.Type != gjson.Null {
		return nil, errors.New("decode chunk: choices is not an array")
	}
	pos := 0
	var err error
	choices.ForEach(func(_, ch gjson.Result) bool {
		cc := ChunkChoice{Index: int(ch.Get("index").Int()), pos: pos}
		pos++
		delta := ch.Get("delta")
		cc.Delta.Role = delta.Get("role").String()
		if content := delta.Get("content"); content.Type == gjson.String {
			s := content.String()
			cc.Delta.Content = &s
		} else if content.Exists() && content.Type != gjson.Null {
			err = errors.New("decode chunk: delta.content is not a string")
			return false
		}
		cc.Delta.ToolCalls = hasToolCalls(delta)
		if fr := ch.Get("finish_reason"); fr.Type == gjson.String {
			s := fr.String()
			cc.FinishReason = &s
		}
		c.Choices = append(c.Choices, cc)
		return true
	})
	if err != nil {
		return nil, err
	}
	c.Usage = usageOf(root.Get("usage"))
	return c, nil
}

// hasToolCalls says a message or delta carries tool calls.
func hasToolCalls(m gjson.Result) bool {
	tc := m.Get("tool_calls")
	return tc.IsArray() && len(tc.Array()) > 0 || m.Get("function_call").IsObject()
}

// IsError reports whether the chunk is an error event ({"error": …}).
func (c *ChatChunk) IsError() bool { return c.hasError }

// ContentChunk returns a chunk like c (same id, model, created and other
// top-level fields) with one choice, index, whose delta is content and
// whose finish_reason is null, and no usage: a chunk to send before c.
func (c *ChatChunk) ContentChunk(index int, content string) ([]byte, error) {
	out, err := sjson.SetRawBytes(append([]byte(nil), c.data...), "choices", []byte(`[{"index":0,"delta":{"content":""},"finish_reason":null}]`))
	if err == nil && index != 0 {
		out, err = sjson.SetBytes(out, "choices.0.index", index)
	}
	if err == nil {
		out, err = sjson.SetBytes(out, "choices.0.delta.content", content)
	}
	if err == nil && gjson.GetBytes(out, "usage").Exists() {
		out, err = sjson.DeleteBytes(out, "usage")
	}
	if err != nil {
		return nil, fmt.Errorf("content chunk: %w", err)
	}
	return out, nil
}

// SetField returns data, a JSON object, with the top-level member key set
// to raw JSON.
func SetField(data []byte, key string, raw []byte) ([]byte, error) {
	out, err := sjson.SetRawBytes(data, key, raw)
	if err != nil {
		return nil, fmt.Errorf("set %s: %w", key, err)
	}
	return out, nil
}

// Encode returns the chunk with the delta contents and finish reasons of
// patches applied and extra top-level fields added.
func (c *ChatChunk) Encode(patches []Patch, extra map[string]any) ([]byte, error) {
	return patch(c.data, "delta", func(index int) (int, bool) {
		for _, ch := range c.Choices {
			if ch.Index == index {
				return ch.pos, true
			}
		}
		return 0, false
	}, patches, extra)
}
