package openai

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/clienterr"
)

// TestStrictParser covers the corners where JSON parsers disagree: each
// is refused with a 400 that names the key, or read one way only.
func TestStrictParser(t *testing.T) {
	const msg = `"messages":[{"role":"user","content":"hi"}]`
	tests := []struct {
		name      string
		body      string
		wantParam string // "" means accepted
		wantMsg   string
	}{
		{"duplicate top-level key", `{` + msg + `,"model":"a","model":"b"}`, "model", "appears twice"},
		{"duplicate content", `{"messages":[{"role":"user","content":"x","content":"y"}]}`, "messages[0].content", "appears twice"},
		{"duplicate through an escape", `{"messages":[{"role":"user","content":"x","\u0063ontent":"y"}]}`, "messages[0].content", "appears twice"},
		{"duplicate role", `{"messages":[{"role":"user","role":"system","content":"x"}]}`, "messages[0].role", "appears twice"},
		{"duplicate inside a part", `{"messages":[{"role":"user","content":[{"type":"text","text":"a","text":"b"}]}]}`, "messages[0].content[0].text", "appears twice"},
		{"duplicate inside a free-form schema", `{` + msg + `,"tools":[{"type":"function","function":{"name":"f","parameters":{"properties":{"a":{},"a":{}}}}}]}`, "tools[0].function.parameters.properties.a", "appears twice"},
		{"known field in upper case", `{"messages":[{"role":"user","content":"x","CONTENT":"y"}]}`, "messages[0].CONTENT", `only in case; write "content"`},
		{"known field alone in another case", `{"messages":[{"role":"user","Content":"y"}]}`, "messages[0].Content", "only in case"},
		{"escaped known field in another case", `{"messages":[{"role":"user","\u0043ontent":"y"}]}`, "messages[0].Content", "only in case"},
		{"top-level field in another case", `{` + msg + `,"Model":"x"}`, "Model", "only in case"},
		{"long s folds to s", `{"meſſages":[{"role":"user","content":"x"}]}`, "meſſages", "only in case"},
		{"kelvin sign folds to k", `{` + msg + `,"top_\u212a":1}`, "top_\u212a", "only in case"},
		{"unknown keys equal under folding", `{` + msg + `,"foo":1,"FOO":2}`, "FOO", `differs from the key "foo"`},
		{"nested part field in another case", `{"messages":[{"role":"user","content":[{"type":"text","Text":"x"}]}]}`, "messages[0].content[0].Text", "only in case"},
		{"tool call field in another case", `{"messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","Arguments":"{}"}}]}]}`, "messages[0].tool_calls[0].function.Arguments", "only in case"},
		{"schema property names are the client's", `{` + msg + `,"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"Name":{"type":"string"},"name":{"type":"string"}}}}}]}`, "", ""},
		{"metadata keys are the client's", `{` + msg + `,"metadata":{"User":"1","Content":"2"}}`, "", ""},
		{"unknown field passes", `{` + msg + `,"my_extension":{"Anything":1}}`, "", ""},
		{"surrogate pair", `{"messages":[{"role":"user","content":"\ud83d\ude00"}]}`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseChatRequest([]byte(tt.body))
			if tt.wantParam == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var e *clienterr.Error
			if !errors.As(err, &e) {
				t.Fatalf("accepted, want a 400 naming %s", tt.wantParam)
			}
			if Status(e.Code) != 400 || e.Param != tt.wantParam || !strings.Contains(e.Message, tt.wantMsg) {
				t.Errorf("got %d param %q message %q; want param %q message containing %q", Status(e.Code), e.Param, e.Message, tt.wantParam, tt.wantMsg)
			}
		})
	}
	for _, body := range []string{
		`{"messages":[{"role":"user","content":"\ud800"}]}`,
		`{"messages":[{"role":"user","content":"\ude00x"}]}`,
		`{"messages":[{"role":"user","content":"\ud83d\u0041"}]}`,
		`{"messages":[{"role":"user","content":"a` + "\x01" + `"}]}`,
		`{"messages":[{"role":"user","content":"x"}]} {}`,
		`{"messages":[{"role":"user","content":NaN}]}`,
		`{"messages":[{"role":"user","content":"x"},]}`,
		`{"n":01,"messages":[{"role":"user","content":"x"}]}`,
	} {
		if _, err := ParseChatRequest([]byte(body)); err == nil {
			t.Errorf("accepted %s", body)
		} else if e := clienterr.As(err); Status(e.Code) != 400 {
			t.Errorf("%s: status %d", body, Status(e.Code))
		}
	}
}

// FuzzStrictParser: whatever the strict parser accepts, encoding/json
// accepts too and reads the same, from the body and from its re-encoding.
func FuzzStrictParser(f *testing.F) {
	for _, s := range []string{
		`{"a":1,"b":[true,false,null,"x\u00e9\ud83d\ude00"],"c":{"d":-1.5e3}}`,
		`{"messages":[{"role":"user","content":"\"\\\/\b\f\n\r\t"}]}`,
		`{"a":"\u0000\u001f\u2028<>&"}`, `{}`, `{"a":{"a":{"a":[]}}}`, `{"A":1,"a":2}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := parseStrict(body)
		var std any
		stdErr := json.Unmarshal(body, &std)
		if err != nil {
			return
		}
		if stdErr != nil {
			t.Fatalf("strict parser accepted what encoding/json refuses (%v): %q", stdErr, body)
		}
		out := n.encode(nil)
		var again any
		if err := json.Unmarshal(out, &again); err != nil {
			t.Fatalf("re-encoding %q is not JSON: %v", out, err)
		}
		if !reflect.DeepEqual(std, again) {
			t.Fatalf("re-encoding changed the value:\n in  %q\n out %q", body, out)
		}
		if _, err := parseStrict(out); err != nil {
			t.Fatalf("re-encoding %q does not parse again: %v", out, err)
		}
	})
}

// FuzzFieldLookup holds the parser's lookups of field names, which skip
// folding and hashing, to the folded map they stand for: isField to
// knownFields[foldKey(k)] == k, foldsToField to knownFields[foldKey(k)].
func FuzzFieldLookup(f *testing.F) {
	for _, k := range []string{"model", "Model", "MODEL", "content", "ſtream", "\u212aey", "finish_reason", "", "a", "zz", "choices\x00"} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, k string) {
		want, wantOK := knownFields[foldKey(k)]
		if got := isField(k); got != (wantOK && want == k) {
			t.Errorf("isField(%q) = %v, knownFields[foldKey] = %q, %v", k, got, want, wantOK)
		}
		if got, ok := foldsToField(k); got != want && wantOK || ok != wantOK {
			t.Errorf("foldsToField(%q) = %q, %v; knownFields[foldKey] = %q, %v", k, got, ok, want, wantOK)
		}
	})
}

func TestFieldLookup(t *testing.T) {
	for fold, name := range knownFields {
		if !isField(name) || fold != name {
			t.Errorf("isField(%q) = false (folded %q)", name, fold)
		}
		if f, ok := foldsToField(strings.ToUpper(name)); !ok || f != name {
			t.Errorf("foldsToField(%q) = %q, %v", strings.ToUpper(name), f, ok)
		}
		if isField(strings.ToUpper(name[:1]) + name[1:]) {
			t.Errorf("isField takes %q", strings.ToUpper(name[:1])+name[1:])
		}
	}
	for _, k := range []string{"", "mode", "models", "ſtream", "user\x00"} {
		if isField(k) {
			t.Errorf("isField(%q) = true", k)
		}
	}
	if f, ok := foldsToField("ſtream"); !ok || f != "stream" {
		t.Errorf(`foldsToField("ſtream") = %q, %v, want "stream"`, f, ok)
	}
}
