package openai

import (
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"
)

func TestChunkPatch(t *testing.T) {
	str := func(s string) *string { return &s }
	tests := []struct {
		name    string
		in      string
		patches []Patch
		extra   map[string]any
		want    string
	}{
		{"content", `{"id":"x","choices":[{"index":0,"delta":{"content":"abc"},"finish_reason":null}],"usage":null,"system_fingerprint":"fp"}`,
			[]Patch{{Index: 0, Content: str("a")}}, nil,
			`{"id":"x","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}],"usage":null,"system_fingerprint":"fp"}`},
		{"finish and report", `{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`,
			[]Patch{{Index: 0, Content: str("tail \"quoted\" 中文"), FinishReason: str("content_filter")}}, map[string]any{"firebreak": map[string]string{"decision": "refuse"}},
			`{"choices":[{"index":0,"delta":{"content":"tail \"quoted\" 中文"},"finish_reason":"content_filter"}],"firebreak":{"decision":"refuse"}}`},
		{"second choice by index", `{"choices":[{"index":1,"delta":{"content":"b"}},{"index":0,"delta":{"content":"a"}}]}`,
			[]Patch{{Index: 0, Content: str("A")}}, nil,
			`{"choices":[{"index":1,"delta":{"content":"b"}},{"index":0,"delta":{"content":"A"}}]}`},
		{"tool calls kept", `{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}}]}`,
			[]Patch{{Index: 0, Content: str("")}}, nil,
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}],"content":""}}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseChatChunk([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			out, err := c.Encode(tt.patches, tt.extra)
			if err != nil {
				t.Fatal(err)
			}
			var got, want any
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("invalid output %s: %v", out, err)
			}
			_ = json.Unmarshal([]byte(tt.want), &want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %s\nwant %s", out, tt.want)
			}
		})
	}
}

func TestParseChatChunk(t *testing.T) {
	c, err := ParseChatChunk([]byte(`{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}`))
	if err != nil || c.Usage.Tokens() != 7 || len(c.Choices) != 0 {
		t.Fatalf("usage chunk: %+v %v", c, err)
	}
	c, _ = ParseChatChunk([]byte(`{"error":{"message":"boom"}}`))
	if !c.IsError() {
		t.Error("error event not recognised")
	}
	for _, bad := range []string{`{`, `[]`, `{"choices":{}}`, `{"choices":[{"delta":{"content":5}}]}`} {
		if _, err := ParseChatChunk([]byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func FuzzChatChunk(f *testing.F) {
	f.Add([]byte(`{"choices":[{"index":0,"delta":{"content":"abc"},"finish_reason":null}]}`), "x")
	f.Add([]byte(`{"choices":[{"index":2,"delta":{"role":"assistant"}}],"usage":null}`), "")
	f.Fuzz(func(t *testing.T, data []byte, content string) {
		c, err := ParseChatChunk(data)
		if err != nil || len(c.Choices) == 0 {
			return
		}
		idx := c.Choices[0].Index
		out, err := c.Encode([]Patch{{Index: idx, Content: &content}}, nil)
		if err != nil {
			return
		}
		back, err := ParseChatChunk(out)
		if err != nil {
			t.Fatalf("patched chunk does not parse: %s: %v", out, err)
		}
		for _, ch := range back.Choices {
			if ch.Index == idx && ch.Delta.Content != nil {
				if *ch.Delta.Content != content && utf8Valid(content) {
					t.Fatalf("content %q, want %q", *ch.Delta.Content, content)
				}
				return
			}
		}
		t.Fatalf("patched choice lost: %s", out)
	})
}

func utf8Valid(s string) bool { return utf8.ValidString(s) }

// FuzzSetModel: renaming the model by patching its token in the
// upstream's bytes gives the same answer as encoding the renamed tree
// again, and what was parsed before stays as it was when the parser's
// stacks are reused for the next input.
func FuzzSetModel(f *testing.F) {
	f.Add([]byte(`{"id":"c","model":"qwen3-32b","choices":[{"index":0,"delta":{"content":"abc"},"finish_reason":null}]}`), "general")
	f.Add([]byte(` { "model" : "q\u0077en" , "choices" : [ ] } `), "g\"<>\u2028")
	f.Add([]byte(`{"model":"m","usage":{"prompt_tokens":1}}`), "m")
	f.Add([]byte(`{"model":1}`), "x")
	f.Fuzz(func(t *testing.T, data []byte, model string) {
		if !utf8.ValidString(model) {
			return
		}
		c, err := ParseChatChunk(data)
		if err != nil {
			return
		}
		before := string(c.root.encode(nil))
		if _, err := ParseChatChunk([]byte(`{"model":"other","choices":[{"index":1,"delta":{"content":"zz","role":"x"}}]}`)); err != nil {
			t.Fatal(err)
		}
		if after := string(c.root.encode(nil)); after != before {
			t.Fatalf("a later parse changed an earlier tree:\n %s\n %s", before, after)
		}
		c.SetModel(model)
		want := string(c.root.encode(nil)) // the renamed tree, encoded again
		back, err := ParseChatChunk(c.Bytes())
		if err != nil {
			t.Fatalf("renamed chunk %q does not parse: %v", c.Bytes(), err)
		}
		wantChunk, err := ParseChatChunk([]byte(want))
		if err != nil {
			t.Fatalf("re-encoded chunk %q does not parse: %v", want, err)
		}
		// Read once more, as FuzzChunkContentPatch does: a byte that is
		// not UTF-8 reads as U+FFFD, escaped in one encoding, not in the
		// next.
		if got, want := canonical(t, back), canonical(t, wantChunk); got != want {
			t.Fatalf("patched bytes read\n %s\nre-encoding reads\n %s", got, want)
		}
	})
}

// FuzzChunkContentPatch: patching a choice's content in the chunk's bytes
// (after a model rename or not) reads as encoding the patched tree again.
func FuzzChunkContentPatch(f *testing.F) {
	f.Add([]byte(`{"id":"c","model":"qwen3-32b","choices":[{"index":0,"delta":{"content":"Hello, this is one token"},"finish_reason":null}]}`), "Hello, this", "general", 0)
	f.Add([]byte(`{"choices":[{"index":1,"delta":{"content":"a\u0062c","role":"assistant"}}],"model":"m"}`), "x\"\n", "mm", 1)
	f.Add([]byte(` {"model" : "a" , "choices" : [ {"delta" : {"content" : "" } } ] } `), "<&>", "", 0)
	f.Fuzz(func(t *testing.T, data []byte, content, model string, index int) {
		if !utf8.ValidString(content) || !utf8.ValidString(model) {
			return
		}
		fast, err := ParseChatChunk(data)
		if err != nil {
			return
		}
		tree, _ := ParseChatChunk(data)
		if model != "" {
			fast.SetModel(model)
			tree.SetModel(model)
		}
		patches := []Patch{{Index: index, Content: &content}}
		got, err := fast.Encode(patches, nil)
		if err != nil {
			t.Fatal(err)
		}
		want, err := tree.encodeTree(patches, nil)
		if err != nil {
			t.Fatal(err)
		}
		g, err := ParseChatChunk(got)
		if err != nil {
			t.Fatalf("patched chunk %q does not parse: %v", got, err)
		}
		w, err := ParseChatChunk(want)
		if err != nil {
			t.Fatalf("encoded chunk %q does not parse: %v", want, err)
		}
		// Read once more: bytes that are not UTF-8, which the patched
		// chunk keeps as the upstream sent them (as a chunk review does not
		// change), read as U+FFFD, the encoding's replacement.
		if a, b := canonical(t, g), canonical(t, w); a != b {
			t.Fatalf("patched bytes read\n %s\nthe encoded tree reads\n %s", a, b)
		}
	})
}

func canonical(t *testing.T, c *ChatChunk) string {
	again, err := ParseChatChunk(c.root.encode(nil))
	if err != nil {
		t.Fatal(err)
	}
	return string(again.root.encode(nil))
}
