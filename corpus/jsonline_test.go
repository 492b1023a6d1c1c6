package corpus

import (
	"encoding/json"
	"testing"
)

// FuzzTextOnlyLine holds the fast path of ParseLine to encoding/json:
// whatever line it accepts, encoding/json reads as an object with the
// text field alone, holding the same string.
func FuzzTextOnlyLine(f *testing.F) {
	for _, s := range []string{`{"text":"a"}`, ` { "text" : "中\n文\"\\\/\b\f\r\t\u4e2d\u00e9" } `, `{"text":"\ud83d\ude00"}`,
		`{"text":"\ud800"}`, "{\"text\":\"\xff\"}", `{"text":"a","id":"b"}`, `{"text":"a"}x`, `{"text":5}`, `{"te\u0078t":"a"}`,
		"{\"text\":\"a\x01\"}", `{"text":"\u00"}`, `{"text":""}`, `{"text":"a\`, `{"text":"\uDFFF\uD800"}`, `{"text":"\u0000"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		text, ok := textOnlyLine(data, "text")
		if !ok {
			return
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(data, &obj); err != nil {
			t.Fatalf("fast path read %q, encoding/json refuses it: %v", data, err)
		}
		var want string
		if len(obj) != 1 || json.Unmarshal(obj["text"], &want) != nil {
			t.Fatalf("fast path read %q, encoding/json sees %v", data, obj)
		}
		if text != want {
			t.Fatalf("%q: fast path %q, encoding/json %q", data, text, want)
		}
	})
}

func TestTextOnlyLine(t *testing.T) {
	for _, c := range []struct {
		line string
		want string
		ok   bool
	}{
		{`{"text":"a b"}`, "a b", true},
		{` {"text" : "x\n\u4e2d\ud83d\ude00"} `, "", false}, // surrogates: the general path
		{"\t{ \"text\":\"\\u4e2d\\\"\"}\r", "中\"", true},
		{`{"text":"a","url":"u"}`, "", false},
		{`{"body":"a"}`, "", false},
		{`{"text":"a"`, "", false},
		{"{\"text\":\"\xe4\xb8\"}", "", false},
	} {
		got, ok := textOnlyLine([]byte(c.line), "text")
		if got != c.want || ok != c.ok {
			t.Errorf("%q: %q %v, want %q %v", c.line, got, ok, c.want, c.ok)
		}
	}
}
