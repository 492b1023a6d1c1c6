package openai

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestToolCallsAndJSONMode(t *testing.T) {
	for in, want := range map[string]bool{
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","function":{"name":"f","arguments":""}}]}}]}`: true,
		`{"choices":[{"index":0,"delta":{"function_call":{"name":"f"}}}]}`:                                                true,
		`{"choices":[{"index":0,"delta":{"content":"hi","tool_calls":[]}}]}`:                                              false,
		`{"choices":[{"index":0,"delta":{"content":"hi","tool_calls":null}}]}`:                                            false,
	} {
		c, err := ParseChatChunk([]byte(in))
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Choices[0].Delta.ToolCalls; got != want {
			t.Errorf("chunk %s: ToolCalls = %v", in, got)
		}
	}
	r, err := ParseChatResponse([]byte(`{"choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]}},{"index":1,"message":{"content":"x"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if !r.Choices[0].Message.ToolCalls || r.Choices[1].Message.ToolCalls {
		t.Errorf("response tool calls: %+v", r.Choices)
	}
	for body, want := range map[string]bool{
		`{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_object"}}`:                            true,
		`{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"a"}}}`: true,
		`{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"text"}}`:                                   false,
		`{"messages":[{"role":"user","content":"x"}]}`:                                                                     false,
	} {
		req, err := ParseChatRequest([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if req.JSONMode() != want {
			t.Errorf("%s: JSONMode = %v", body, !want)
		}
	}
}

func TestContentChunk(t *testing.T) {
	c, err := ParseChatChunk([]byte(`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":7,"model":"m","system_fingerprint":"fp",` +
		`"choices":[{"index":2,"delta":{"content":"last"},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}`))
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.ContentChunk(2, "last\n\n<AI生成> & \"q\"")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		ID, Object, Model string
		Fingerprint       string `json:"system_fingerprint"`
		Created           int
		Choices           []struct {
			Index        int
			Delta        struct{ Content string }
			FinishReason *string `json:"finish_reason"`
		}
		Usage json.RawMessage
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	if got.Created != 7 || got.Fingerprint != "fp" || len(got.Choices) != 1 || got.Choices[0].Index != 2 || got.Choices[0].Delta.Content != "last\n\n<AI生成> & \"q\"" ||
		got.Choices[0].FinishReason != nil || got.Usage != nil || !strings.Contains(string(out), `"id":"chatcmpl-1"`) {
		t.Errorf("content chunk %s", out)
	}
	// Raw extras are set as given: no escaping of <, > and &.
	b, err := c.Encode(nil, map[string]any{"AIGC": json.RawMessage(`{"ContentProducer":"a<b>&c"}`)})
	if err != nil || !strings.Contains(string(b), `"AIGC":{"ContentProducer":"a<b>&c"}`) {
		t.Errorf("raw extra: %s, %v", b, err)
	}
}
