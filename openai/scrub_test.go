package openai

import (
	"strings"
	"testing"
)

// TestScrubAnswer: an answer keeps its identifiers, its choices' messages
// and what holds no text; members elsewhere that hold text are removed,
// from the bytes as from the tree, on every way of parsing an answer.
func TestScrubAnswer(t *testing.T) {
	const in = `{"id":"x","object":"o","created":1,"model":"up","system_fingerprint":"fp","service_tier":"default",` +
		`"note":"secret","deep":{"a":[1,{"b":"secret"}]},"flags":{"a":[1,true,null]},"kept":null,` +
		`"choices":[{"index":0,"%s":{"role":"assistant","content":"hi","odd":"reviewed"},"finish_reason":"stop","aside":"secret","n":2,"logprobs":{"content":[{"token":"hi"}]}}],` +
		`"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`
	const want = `{"id":"x","object":"o","created":1,"model":"general","system_fingerprint":"fp","service_tier":"default",` +
		`"flags":{"a":[1,true,null]},"kept":null,` +
		`"choices":[{"index":0,"%s":{"role":"assistant","content":"hi","odd":"reviewed"},"finish_reason":"stop","n":2,"logprobs":{"content":[{"token":"hi"}]}}],` +
		`"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`
	check := func(name string, got []byte, field string) {
		t.Helper()
		if w := strings.ReplaceAll(want, "%s", field); string(got) != w {
			t.Errorf("%s:\n got %s\nwant %s", name, got, w)
		}
	}
	r, err := ParseChatResponse([]byte(strings.ReplaceAll(in, "%s", "message")))
	if err != nil {
		t.Fatal(err)
	}
	r.SetModel("general")
	check("whole answer", r.Bytes(), "message")
	if len(r.Choices[0].Message.Texts) != 1 || r.Choices[0].Message.Texts[0].Value != "reviewed" {
		t.Errorf("message texts %+v", r.Choices[0].Message.Texts)
	}
	chunk := []byte(strings.ReplaceAll(in, "%s", "delta"))
	c, err := ParseChatChunk(chunk)
	if err != nil {
		t.Fatal(err)
	}
	c.SetModel("general")
	check("chunk", c.Bytes(), "delta")
	var cp ChunkParser
	for range 2 { // the second parse reuses the first's memory
		c, err := cp.Parse(chunk)
		if err != nil {
			t.Fatal(err)
		}
		c.SetModel("general")
		check("reused parser", c.Bytes(), "delta")
		content := "HI"
		out, err := c.Encode([]Patch{{Index: 0, Content: &content}}, nil)
		if err != nil || !strings.Contains(string(out), `"content":"HI"`) || strings.Contains(string(out), "secret") || strings.Contains(string(out), `"token"`) {
			t.Errorf("patched scrubbed chunk: %s %v", out, err)
		}
	}
}

// TestAnswerShapes: a choice that is not an object, a message or delta of
// another kind, or a finish reason that is not a reason's name is refused.
func TestAnswerShapes(t *testing.T) {
	for _, body := range []string{
		`{"choices":[0]}`, `{"choices":[null]}`, `{"choices":["text"]}`, `{"choices":[[]]}`,
		`{"choices":[{"%s":"text"}]}`, `{"choices":[{"%s":["text"]}]}`, `{"choices":[{"%s":1}]}`,
		`{"choices":[{"finish_reason":"how to make it"}]}`, `{"choices":[{"finish_reason":""}]}`,
		`{"choices":[{"finish_reason":"这是一个很长的句子"}]}`,
		"{\"choices\":[{\"\xec\":0,\"\xed\":1}]}", // two keys that would encode alike
	} {
		if _, err := ParseChatResponse([]byte(strings.ReplaceAll(body, "%s", "message"))); err == nil {
			t.Errorf("answer %s: no error", body)
		}
		if _, err := ParseChatChunk([]byte(strings.ReplaceAll(body, "%s", "delta"))); err == nil {
			t.Errorf("chunk %s: no error", body)
		}
	}
	for _, body := range []string{`{"choices":[{"%s":null,"finish_reason":"eos_token"}]}`, `{"choices":[{"finish_reason":null}]}`, `{"choices":null}`} {
		if _, err := ParseChatResponse([]byte(strings.ReplaceAll(body, "%s", "message"))); err != nil {
			t.Errorf("answer %s: %v", body, err)
		}
		if _, err := ParseChatChunk([]byte(strings.ReplaceAll(body, "%s", "delta"))); err != nil {
			t.Errorf("chunk %s: %v", body, err)
		}
	}
}

// TestPatchDropsLogprobs: a patch that changes a choice's text drops its
// logprobs, unless it only adds to the text.
func TestPatchDropsLogprobs(t *testing.T) {
	const body = `{"choices":[{"index":0,"message":{"content":"a"},"logprobs":{"content":[{"token":"a"}]}}]}`
	s := "b"
	for _, tc := range []struct {
		p    Patch
		kept bool
	}{{Patch{Index: 0, Content: &s}, false}, {Patch{Index: 0, DropTexts: true}, false}, {Patch{Index: 0, Content: &s, KeepLogprobs: true}, true}} {
		r, _ := ParseChatResponse([]byte(body))
		out, err := r.Encode([]Patch{tc.p}, nil)
		if err != nil || strings.Contains(string(out), `"token"`) != tc.kept {
			t.Errorf("%+v: %s %v", tc.p, out, err)
		}
		c, _ := ParseChatChunk([]byte(strings.Replace(body, "message", "delta", 1)))
		out, err = c.Encode([]Patch{tc.p}, nil)
		if err != nil || strings.Contains(string(out), `"token"`) != tc.kept {
			t.Errorf("chunk %+v: %s %v", tc.p, out, err)
		}
	}
}

// TestIdentifiersReadAsNames: an identifier that does not read as one is
// removed from the top level of an answer, and read as text in a message.
func TestIdentifiersReadAsNames(t *testing.T) {
	r, err := ParseChatResponse([]byte(`{"id":"how to build it","object":"chat.completion","system_fingerprint":"指纹",` +
		`"choices":[{"index":"a b","message":{"role":"how to","content":"x","tool_calls":[{"id":"call 1","type":"function","function":{"name":"f","arguments":"{}"}}]}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(r.Bytes()); strings.Contains(got, "build") || strings.Contains(got, "指纹") || strings.Contains(got, "a b") || !strings.Contains(got, `"object":"chat.completion"`) {
		t.Errorf("top level: %s", got)
	}
	var read []string
	for _, tx := range r.Choices[0].Message.Texts {
		read = append(read, tx.Path+"="+tx.Value)
	}
	want := []string{"role=how to", "tool_calls.0.id=call 1", "tool_calls.0.function.name=f", "tool_calls.0.function.arguments={}"}
	if strings.Join(read, "|") != strings.Join(want, "|") {
		t.Errorf("texts read %q, want %q", read, want)
	}
	out, err := r.Encode([]Patch{{Index: 0, DropTexts: true}}, nil)
	if err != nil || strings.Contains(string(out), "how to") || strings.Contains(string(out), "tool_calls") {
		t.Errorf("refused: %s %v", out, err)
	}
}
