package openai

import (
	"fmt"
	"strings"
	"testing"
)

// chunkReading is all a chunk says: its choices and usage as the gateway
// reads them, its bytes after a rename, and its tree encoded again with
// one content patch.
func chunkReading(c *ChatChunk, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "error event %v\n", c.IsError())
	for _, ch := range c.Choices {
		fmt.Fprintf(&b, "choice %d role %q tools %v texts %+v", ch.Index, ch.Delta.Role, ch.Delta.ToolCalls, ch.Delta.Texts)
		if ch.Delta.Content != nil {
			fmt.Fprintf(&b, " content %q", *ch.Delta.Content)
		}
		if ch.FinishReason != nil {
			fmt.Fprintf(&b, " finish %q", *ch.FinishReason)
		}
		b.WriteByte('\n')
	}
	if c.Usage != nil {
		fmt.Fprintf(&b, "usage %+v\n", *c.Usage)
	}
	c.SetModel("public")
	fmt.Fprintf(&b, "renamed %s\n", c.Bytes())
	if len(c.Choices) > 0 {
		patched := "patched"
		out, err := c.Encode([]Patch{{Index: c.Choices[0].Index, Content: &patched}}, nil)
		fmt.Fprintf(&b, "patched %s %v\n", out, err)
	}
	return b.String()
}

// checkChunkParser parses inputs in order with one ChunkParser and holds
// each chunk to what ParseChatChunk reads of it, and the strings taken
// from earlier chunks to what they were.
func checkChunkParser(t *testing.T, inputs ...[]byte) {
	t.Helper()
	var cp ChunkParser
	type kept struct{ content, want string }
	var keep []kept
	for i, data := range inputs {
		want := chunkReading(ParseChatChunk(append([]byte(nil), data...)))
		c, err := cp.Parse(data)
		if err == nil && len(c.Choices) > 0 && c.Choices[0].Delta.Content != nil {
			s := *c.Choices[0].Delta.Content
			keep = append(keep, kept{s, strings.Clone(s)})
		}
		if got := chunkReading(c, err); got != want {
			t.Fatalf("input %d (%q): the stream's parser read\n%s\nParseChatChunk read\n%s", i, data, got, want)
		}
	}
	for _, k := range keep {
		if k.content != k.want {
			t.Fatalf("a content string changed after later parses: %q, was %q", k.content, k.want)
		}
	}
}

var chunkParserInputs = []string{
	`{"id":"c","object":"chat.completion.chunk","model":"qwen","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`,
	`{"id":"c","object":"chat.completion.chunk","model":"qwen","choices":[{"index":0,"delta":{"content":"Hello"},"finish_reason":null}]}`,
	`{"id":"c","model":"qwen","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"t","function":{"name":"f","arguments":"{\"a\":"}}]}},{"index":1,"delta":{"reasoning_content":"hm","content":"x"}}]}`,
	`{"id":"c","model":"qwen","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`,
	`{"id":"c","model":"qwen","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}}`,
	`{"error":{"message":"boom","code":"x"}}`,
	`{"id":"c","Model":"qwen","model":"q"}`,
	`{"choices":[{"delta":{"content":5}}]}`,
	`{"id":"` + strings.Repeat("x", 5000) + `","choices":[` + strings.Repeat(`{"index":1,"delta":{"content":"a"}},`, 40) + `{"index":0,"delta":{"content":"b"}}]}`,
	`{"id":"c","model":"qwen","choices":[{"index":0,"delta":{"content":"again"},"finish_reason":null}]}`,
}

func TestChunkParser(t *testing.T) {
	var in [][]byte
	for _, s := range chunkParserInputs {
		in = append(in, []byte(s))
	}
	checkChunkParser(t, in...)
	// The same inputs backwards: each slab shrinks and grows again.
	for i, j := 0, len(in)-1; i < j; i, j = i+1, j-1 {
		in[i], in[j] = in[j], in[i]
	}
	checkChunkParser(t, in...)
}

// FuzzChunkParser: a stream's parser reads any two chunks in a row as
// ParseChatChunk reads each, and what the first gave stays as it was.
func FuzzChunkParser(f *testing.F) {
	for i := range chunkParserInputs {
		f.Add([]byte(chunkParserInputs[i]), []byte(chunkParserInputs[(i+1)%len(chunkParserInputs)]))
	}
	f.Fuzz(func(t *testing.T, first, second []byte) {
		checkChunkParser(t, first, second, first)
	})
}
