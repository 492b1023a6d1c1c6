package openai

import (
	"testing"

	"github.com/firebreak/firebreak/internal/cputime"
)

var benchChunk = []byte(`{"id":"chatcmpl-123","object":"chat.completion.chunk","created":1700000000,"model":"qwen3-32b","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":"Hello, this is one token"},"logprobs":null,"finish_reason":null}],"usage":null}`)

// BenchmarkChunkPatch is the per-chunk work of a reviewed stream: parse the
// upstream's chunk, then re-encode it with the released text.
func BenchmarkChunkPatch(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchChunk)))
	release := "Hello, this is one"
	start := cputime.Process()
	for b.Loop() {
		c, err := ParseChatChunk(benchChunk)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Encode([]Patch{{Index: 0, Content: &release}}, nil); err != nil {
			b.Fatal(err)
		}
	}
	cputime.Report(b, start, len(benchChunk))
}

// BenchmarkChunkParser is the per-chunk parse of a stream as the relay
// does it: one ChunkParser for the stream, the model renamed.
func BenchmarkChunkParser(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchChunk)))
	var p ChunkParser
	start := cputime.Process()
	for b.Loop() {
		c, err := p.Parse(benchChunk)
		if err != nil {
			b.Fatal(err)
		}
		c.SetModel("general")
	}
	cputime.Report(b, start, len(benchChunk))
}

// BenchmarkParseChatRequest is the parse of a short chat request, as the
// gateway reads every request body.
func BenchmarkParseChatRequest(b *testing.B) {
	body := []byte(`{"model":"general","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"请用中文和English解释一下 what a large language model is, in two sentences."}],"user":"user-7","temperature":0.2}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	start := cputime.Process()
	for b.Loop() {
		if _, err := ParseChatRequest(body); err != nil {
			b.Fatal(err)
		}
	}
	cputime.Report(b, start, len(body))
}
