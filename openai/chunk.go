package openai

import (
	"encoding/json"
	"fmt"
)

// ChatChunk is one streamed chunk ("chat.completion.chunk") as read from an
// upstream. Like ChatResponse it keeps every field in Raw.
type ChatChunk struct {
	Choices []ChunkChoice `json:"choices"`
	Usage   *Usage        `json:"usage"`

	Raw map[string]json.RawMessage `json:"-"`
}

// ChunkChoice is one choice's delta in a chunk.
type ChunkChoice struct {
	Index        int     `json:"index"`
	Delta        Delta   `json:"delta"`
	FinishReason *string `json:"finish_reason"`
}

// Delta is the incremental message of a chunk choice.
type Delta struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content"`
}

// ParseChatChunk decodes one SSE data payload of a chat completion stream.
func ParseChatChunk(data []byte) (*ChatChunk, error) {
	var c ChatChunk
	if err := json.Unmarshal(data, &c.Raw); err != nil {
		return nil, fmt.Errorf("decode chunk: %w", err)
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("decode chunk: %w", err)
	}
	return &c, nil
}

// Encode re-encodes the chunk with the delta contents and finish reasons of
// patches applied, and extra top-level fields added.
func (c *ChatChunk) Encode(patches []Patch, extra map[string]any) ([]byte, error) {
	return encodeObject(c.Raw, "delta", patches, extra)
}
