package openai

import (
	"errors"

	"github.com/tidwall/gjson"
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

// IsError reports whether the chunk is an error event ({"error": …}).
func (c *ChatChunk) IsError() bool { return c.hasError }

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
