package openai

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/clienterr"
)

func TestParseChatRequest(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		wantCode clienterr.Code
		wantMsg  string // substring of the client message
	}{
		{"minimal", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, "", ""},
		{"content parts", `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"x"}}]}]}`, "", ""},
		{"null content", `{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[]}]}`, "", ""},
		{"empty body", ``, clienterr.InvalidJSON, "empty"},
		{"not json", `hello`, clienterr.InvalidJSON, "not a valid JSON object"},
		{"array", `[1,2]`, clienterr.InvalidJSON, "expected an object"},
		{"null", `null`, clienterr.InvalidJSON, "not null"},
		{"truncated", `{"model":"m","messages":[`, clienterr.InvalidJSON, "not a valid JSON object"},
		{"invalid utf8", "{\"model\":\"m\xff\",\"messages\":[]}", clienterr.InvalidJSON, "UTF-8"},
		{"deep nesting", `{"x":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`, clienterr.InvalidJSON, "too deep"},
		{"missing messages", `{"model":"m"}`, clienterr.InvalidRequest, "'messages'"},
		{"empty messages", `{"model":"m","messages":[]}`, clienterr.InvalidRequest, "at least one"},
		{"messages not array", `{"model":"m","messages":"hi"}`, clienterr.InvalidRequest, "invalid type for 'messages'"},
		{"model not string", `{"model":5,"messages":[{"role":"user","content":"x"}]}`, clienterr.InvalidRequest, "invalid type for 'model'"},
		{"stream not bool", `{"model":"m","stream":"yes","messages":[{"role":"user","content":"x"}]}`, clienterr.InvalidRequest, "'stream'"},
		{"missing role", `{"model":"m","messages":[{"content":"x"}]}`, clienterr.InvalidRequest, "role"},
		{"content number", `{"model":"m","messages":[{"role":"user","content":5}]}`, clienterr.InvalidRequest, "content"},
		{"part without type", `{"model":"m","messages":[{"role":"user","content":[{"text":"x"}]}]}`, clienterr.InvalidRequest, "type"},
		{"n zero", `{"model":"m","n":0,"messages":[{"role":"user","content":"x"}]}`, clienterr.InvalidRequest, "'n'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := ParseChatRequest([]byte(tt.body))
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if req.Model != "m" {
					t.Errorf("model = %q", req.Model)
				}
				return
			}
			var e *clienterr.Error
			if !errors.As(err, &e) {
				t.Fatalf("error = %v, want *clienterr.Error", err)
			}
			if e.Code != tt.wantCode {
				t.Errorf("code = %s, want %s", e.Code, tt.wantCode)
			}
			if Status(e.Code) != 400 {
				t.Errorf("status = %d, want 400", Status(e.Code))
			}
			if !strings.Contains(e.Message, tt.wantMsg) {
				t.Errorf("message %q does not mention %q", e.Message, tt.wantMsg)
			}
		})
	}
}

func TestMessageText(t *testing.T) {
	req, err := ParseChatRequest([]byte(`{"messages":[
		{"role":"system","content":"be kind"},
		{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{}},{"type":"text","text":"b"}]},
		{"role":"assistant","content":"ok"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := req.LatestUserText(); got != "a\nb" {
		t.Errorf("LatestUserText = %q, want %q", got, "a\nb")
	}
	if got := req.Messages[0].Text(); got != "be kind" {
		t.Errorf("system text = %q", got)
	}
}

func TestEncodeKeepsUnknownFields(t *testing.T) {
	body := `{"model":"public","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"tool_choice":"auto","seed":7,"logprobs":true,"response_format":{"type":"json_object"},"stream":true,"stream_options":{"include_usage":false,"other":1}}`
	req, err := ParseChatRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	out, err := req.Encode("upstream-model")
	if err != nil {
		t.Fatal(err)
	}
	var got, want map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal([]byte(body), &want)
	want["model"] = "upstream-model"
	want["stream_options"] = map[string]any{"include_usage": true, "other": float64(1)}
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(want)
	if string(gb) != string(wb) {
		t.Errorf("encoded\n got %s\nwant %s", gb, wb)
	}
}

func FuzzParseChatRequest(f *testing.F) {
	seeds := []string{
		`{"model":"m","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],"stream":true}`,
		`{"messages":[{"role":"user","content":null}],"n":2,"stream_options":{"include_usage":true}}`,
		`[`, `{"a":[[[[[]]]]]}`, "{\"model\":\"\xff\"}", `{"messages":[{"role":1}]}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := ParseChatRequest(body)
		if err != nil {
			var e *clienterr.Error
			if !errors.As(err, &e) {
				t.Fatalf("error is not *clienterr.Error: %v", err)
			}
			if Status(e.Code) < 400 || Status(e.Code) >= 500 {
				t.Fatalf("status %d for bad input", Status(e.Code))
			}
			if e.Message == "" {
				t.Fatal("empty client message")
			}
			return
		}
		for _, m := range req.Messages {
			_ = m.Text()
		}
		_ = req.LatestUserText()
		if _, err := req.Encode("x"); err != nil {
			t.Fatalf("encode a parsed request: %v", err)
		}
	})
}

func TestTextSet(t *testing.T) {
	body := `{"model":"m","messages":[{"role":"system","content":"sys"},{"role":"user","content":[{"type":"text","text":"call 138"},{"type":"image_url","image_url":{"url":"u"}},{"type":"text","text":"two"}],"name":"x"},{"role":"user","content":"plain"}],"seed":1}`
	req, err := ParseChatRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	var fields []string
	for _, tx := range req.Messages[1].Texts {
		fields = append(fields, tx.Field)
	}
	if want := "messages[1].content[0].text messages[1].content[2].text messages[1].name"; strings.Join(fields, " ") != want {
		t.Errorf("texts of message 1: %v, want %s", fields, want)
	}
	req.Messages[1].Texts[0].Set("call ＊＊＊")
	req.Messages[1].Texts[1].Set("2")
	req.Messages[2].Texts[0].Set("PLAIN")
	out, _ := req.Encode("up")
	want := `{"model":"up","messages":[{"role":"system","content":"sys"},{"role":"user","content":[{"type":"text","text":"call ＊＊＊"},{"type":"image_url","image_url":{"url":"u"}},{"type":"text","text":"2"}],"name":"x"},{"role":"user","content":"PLAIN"}],"seed":1}`
	if string(out) != want {
		t.Errorf("got  %s\nwant %s", out, want)
	}
	if got := req.Messages[1].Text(); got != "call ＊＊＊\n2\nx" {
		t.Errorf("message text after Set = %q", got)
	}
}

func TestEncodeStreamOptions(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`{"stream":true,"messages":[{"role":"user","content":"x"}]}`, `{"stream":true,"messages":[{"role":"user","content":"x"}],"model":"m","stream_options":{"include_usage":true}}`},
		{`{"stream":true,"stream_options":null,"messages":[{"role":"user","content":"x"}]}`, `{"stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"x"}],"model":"m"}`},
		{`{"messages":[{"role":"user","content":"x"}],"model":"old"}`, `{"messages":[{"role":"user","content":"x"}],"model":"m"}`},
	} {
		req, err := ParseChatRequest([]byte(tt.in))
		if err != nil {
			t.Fatal(err)
		}
		out, err := req.Encode("m")
		if err != nil || string(out) != tt.want {
			t.Errorf("Encode(%s)\n got  %s (%v)\n want %s", tt.in, out, err, tt.want)
		}
	}
}

func TestPrependSystem(t *testing.T) {
	for name, c := range map[string]struct{ body, want string }{
		"new message": {`{"model":"m","messages":[{"role":"user","content":"q"}]}`,
			`{"model":"m","messages":[{"role":"system","content":"ctx"},{"role":"user","content":"q"}]}`},
		"into the system message": {`{"model":"m","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"q"}]}`,
			`{"model":"m","messages":[{"role":"system","content":"ctx\n\nbe brief"},{"role":"user","content":"q"}]}`},
		"system parts": {`{"model":"m","messages":[{"role":"system","content":[{"type":"text","text":"a"}]}]}`,
			`{"model":"m","messages":[{"role":"system","content":"ctx"},{"role":"system","content":[{"type":"text","text":"a"}]}]}`},
	} {
		t.Run(name, func(t *testing.T) {
			r, err := ParseChatRequest([]byte(c.body))
			if err != nil {
				t.Fatal(err)
			}
			r.PrependSystem("ctx")
			got, _ := r.Encode("m")
			if string(got) != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
			if r.Messages[0].Role != RoleSystem || !strings.HasPrefix(r.Messages[0].Text(), "ctx") {
				t.Errorf("messages: %+v", r.Messages[0])
			}
		})
	}
}

// TestMediaPlaces: the media of a media part are named by place and are
// not texts; the same keys anywhere else are texts.
func TestMediaPlaces(t *testing.T) {
	body := `{"model":"m","messages":[{"role":"user","content":[` +
		`{"type":"text","text":"a","url":"b"},` +
		`{"type":"image_url","image_url":{"url":"u","detail":"low","caption":"c"}},` +
		`{"type":"input_audio","input_audio":{"data":"d","format":"wav"}},` +
		`{"type":"file","file":{"file_id":"f","filename":"g","file_data":""}},` +
		`{"type":"note","note":{"url":"h"}}],"extra":{"data":"i"}}],"modalities":["text","audio"]}`
	r, err := ParseChatRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"messages[0].content[1].image_url.url", "messages[0].content[2].input_audio.data",
		"messages[0].content[3].file.file_id", "modalities"}
	if !slices.Equal(r.Media, want) {
		t.Errorf("media %q, want %q", r.Media, want)
	}
	var texts []string
	for _, x := range r.Messages[0].Texts {
		texts = append(texts, x.Value())
	}
	if want := []string{"a", "b", "c", "g", "h", "i"}; !slices.Equal(texts, want) {
		t.Errorf("texts %q, want %q", texts, want)
	}
	if r, _ := ParseChatRequest([]byte(`{"messages":[{"role":"user","content":"hi"}],"modalities":["text"]}`)); len(r.Media) != 0 {
		t.Errorf("text only: media %q", r.Media)
	}
}
