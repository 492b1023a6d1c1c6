package openai

import (
	"errors"
	"fmt"
	"slices"

	"github.com/firebreak/firebreak/clienterr"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// ChatChunk is one streamed chunk ("chat.completion.chunk") as read from an
// upstream. It is parsed as strictly as a request (a duplicate key or a
// known field in another case is an error: a client's parser could read it
// otherwise than review did), so that a chunk review does not change can
// reach the client as the upstream sent it; one it does change is encoded
// again from what was parsed.
type ChatChunk struct {
	Choices []ChunkChoice
	Usage   *Usage

	data     []byte
	root     *node
	hasError bool
	one      [1]ChunkChoice // Choices' storage for the usual single choice
	// Where the parsed tokens are in data: SetModel moved those from
	// movedFrom on by moved bytes; stale says data was encoded again.
	movedFrom, moved int
	stale            bool
	// A stream's chunk (ChunkParser) renames and patches into its
	// parser's buffers, reused by the next chunk; nil otherwise.
	renamed, patched *[]byte
}

// ChunkChoice is one choice's delta in a chunk.
type ChunkChoice struct {
	Index        int
	Delta        Delta
	FinishReason *string

	node *node // the choice
}

// Delta is the incremental message of a chunk choice.
type Delta struct {
	Role    string
	Content *string
	// ToolCalls says the delta carries tool calls (or a legacy
	// function_call): the answer is for a program, not a person.
	ToolCalls bool
	// Texts are the delta's texts other than content: tool-call names and
	// arguments, reasoning, refusals, fields Firebreak does not know.
	Texts []AnswerText
}

// ParseChatChunk reads one SSE data payload of a chat completion stream.
func ParseChatChunk(data []byte) (*ChatChunk, error) {
	root, err := parseAnswer(data, "chunk")
	if err != nil {
		return nil, err
	}
	return chunkOf(new(ChatChunk), data, root)
}

// ChunkParser parses the chunks of one stream, one after the other, as
// ParseChatChunk does, but reuses one chunk's memory for the next: the
// nodes of its tree and the ChatChunk itself. A chunk, and the pointers it
// holds (Choices, Content, FinishReason, Usage), are valid until the next
// Parse, and so are its Bytes and what its Encode returns (they hold the
// input, or the parser's buffers); the strings read from it stay valid. The zero
// value is ready to use; it is not safe for concurrent use.
type ChunkParser struct {
	p                parser
	chunk            ChatChunk
	renamed, patched []byte
}

// Parse parses one chunk, invalidating the last one (its Bytes and what
// its Encode returned too).
func (cp *ChunkParser) Parse(data []byte) (*ChatChunk, error) {
	cp.p.reuse("chunk", data)
	root, err := cp.p.parse()
	if err != nil {
		return nil, errors.New(clienterr.As(err).Message)
	}
	c, err := chunkOf(&cp.chunk, data, root)
	if c != nil {
		c.renamed, c.patched = &cp.renamed, &cp.patched
	}
	return c, err
}

// chunkOf fills c, its memory reused, from a parsed chunk.
func chunkOf(c *ChatChunk, data []byte, root *node) (*ChatChunk, error) {
	*c = ChatChunk{data: data, root: root}
	c.Choices = c.one[:0]
	if e := root.get("error"); e != nil && e.kind != kindNull {
		c.hasError = true
	}
	scrubbed := scrubMembers(root, relayedChunkMember)
	choices := root.get("choices")
	if choices != nil && choices.kind != kindArray && choices.kind != kindNull {
		return nil, errors.New("decode chunk: choices is not an array")
	}
	if choices != nil {
		for _, ch := range choices.elems {
			delta, err := readChoice(ch, "delta", &scrubbed)
			if err != nil {
				return nil, fmt.Errorf("decode chunk: %w", err)
			}
			cc := ChunkChoice{Index: intOf(ch.get("index")), node: ch}
			if slices.ContainsFunc(c.Choices, func(o ChunkChoice) bool { return o.Index == cc.Index }) {
				return nil, repeatedIndex("chunk", cc.Index)
			}
			cc.Delta.Role = strOf(delta.get("role"))
			switch content := delta.get("content"); {
			case content == nil || content.kind == kindNull:
			case content.kind == kindString:
				cc.Delta.Content = &content.str // the tree's content nodes are replaced, never changed
			default:
				return nil, errors.New("decode chunk: delta.content is not a string")
			}
			cc.Delta.ToolCalls = hasToolCalls(delta)
			cc.Delta.Texts = answerTexts(delta)
			if fr := ch.get("finish_reason"); fr != nil && fr.kind == kindString {
				cc.FinishReason = &fr.str // as content
			}
			c.Choices = append(c.Choices, cc)
		}
	}
	c.Usage = usageOf(root.get("usage"))
	if scrubbed {
		c.data, c.stale = reencoded(root, len(data)), true
	}
	return c, nil
}

// parseAnswer parses an upstream's JSON as strictly as a request.
func parseAnswer(data []byte, what string) (*node, error) {
	root, err := parseStrictAs(data, what)
	if err != nil {
		return nil, errors.New(clienterr.As(err).Message)
	}
	return root, nil
}

// hasToolCalls says a message or delta carries tool calls.
func hasToolCalls(m *node) bool {
	tc := m.get("tool_calls")
	return tc != nil && tc.kind == kindArray && len(tc.elems) > 0 || m.get("function_call").kindIs(kindObject)
}

// SetModel makes the chunk name model (the public model, not the
// upstream's): the parsed chunk and its bytes change when it named
// another.
func (c *ChatChunk) SetModel(model string) {
	m := c.root.get("model")
	if !m.kindIs(kindString) || m.str == model {
		return
	}
	end, before := m.tokEnd, len(c.data)
	c.data = setModel(c.root, c.data, model, c.renamed)
	if c.moved != 0 || end == 0 || int(end) > before {
		c.stale = true // encoded again, or moved twice
		return
	}
	c.movedFrom, c.moved = int(end), len(c.data)-before
}

// Bytes is the chunk as it stands: the upstream's bytes, or after SetModel
// their encoding with the model renamed.
func (c *ChatChunk) Bytes() []byte { return c.data }

// setModel sets the top-level "model" of root when it is a string naming
// another model, and returns data with that string's token replaced (the
// rest of the bytes as they were parsed, so they read as the tree does);
// otherwise data.
func setModel(root *node, data []byte, model string, buf *[]byte) []byte {
	m := root.get("model")
	if !m.kindIs(kindString) || m.str == model {
		return data
	}
	m.str = model
	if m.tokEnd == 0 || int(m.tokEnd) > len(data) {
		return root.encode(make([]byte, 0, len(data)+16))
	}
	out := scratch(buf, len(data)-int(m.tokEnd-m.tokAt)+len(model)+8)
	out = append(out, data[:m.tokAt]...)
	out = appendString(out, model)
	out = append(out, data[m.tokEnd:]...)
	m.tokEnd = 0 // the offsets are of data, not of out
	return keep(buf, out)
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

// Encode returns the chunk with patches applied to the deltas and finish
// reasons of its choices and extra top-level fields added. It changes the
// parsed chunk: call it once.
func (c *ChatChunk) Encode(patches []Patch, extra map[string]any) ([]byte, error) {
	if out, ok := c.patchContent(patches, extra); ok {
		return out, nil
	}
	return c.encodeTree(patches, extra)
}

// patchContent is Encode for the usual patch of a reviewed stream, one
// choice's content and nothing else (review held back part of it): the
// content's string token in the chunk's bytes is replaced, the rest stays
// as it was parsed, so it reads as the patched tree encoded again. ok is
// false for any other patch.
func (c *ChatChunk) patchContent(patches []Patch, extra map[string]any) ([]byte, bool) {
	if len(patches) != 1 || len(extra) != 0 || c.stale {
		return nil, false
	}
	p := patches[0]
	if p.Content == nil || p.FinishReason != nil || len(p.Texts) != 0 || p.DropTexts || len(p.Append) != 0 {
		return nil, false
	}
	var cn *node
	for _, ch := range c.Choices {
		if ch.Index == p.Index {
			if lp := ch.node.get("logprobs"); !p.KeepLogprobs && lp != nil && lp.kind != kindNull {
				return nil, false // dropped with the text it spells
			}
			cn = ch.node.get("delta").get("content")
			break
		}
	}
	if !cn.kindIs(kindString) || cn.tokEnd == 0 {
		return nil, false
	}
	at, end := int(cn.tokAt), int(cn.tokEnd)
	if at >= c.movedFrom {
		at, end = at+c.moved, end+c.moved
	}
	if at < 0 || end > len(c.data) || c.data[at] != '"' || c.data[end-1] != '"' {
		return nil, false
	}
	out := scratch(c.patched, len(c.data)-(end-at)+len(*p.Content)+8)
	out = append(out, c.data[:at]...)
	out = appendString(out, *p.Content)
	return keep(c.patched, append(out, c.data[end:]...)), true
}

// scratch returns an empty buffer with room for n bytes: buf's memory when
// buf is given (a stream's parser's, reused chunk after chunk), else new.
func scratch(buf *[]byte, n int) []byte {
	if buf == nil || cap(*buf) < n {
		return make([]byte, 0, n)
	}
	return (*buf)[:0]
}

// keep makes out, which may have outgrown it, buf's memory for next time.
func keep(buf *[]byte, out []byte) []byte {
	if buf != nil {
		*buf = out
	}
	return out
}

// encodeTree is Encode by encoding the patched tree.
func (c *ChatChunk) encodeTree(patches []Patch, extra map[string]any) ([]byte, error) {
	return encodePatched(c.root, len(c.data), "delta", func(index int) *node {
		for _, ch := range c.Choices {
			if ch.Index == index {
				return ch.node
			}
		}
		return nil
	}, patches, extra)
}
