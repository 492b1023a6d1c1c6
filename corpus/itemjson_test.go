package corpus

import (
	"encoding/json"
	"testing"
)

// FuzzItemLine holds appendItemLine to json.Marshal, byte for byte, for
// any id, source, text and change.
func FuzzItemLine(f *testing.F) {
	f.Add("a:1", "src", "中文 <b>&amp;</b> \"q\" \\ \n\t\r\b\f\x00\x1f\u2028\u2029 \xff\xe4\xb8", false)
	f.Add("", "", "", true)
	f.Fuzz(func(t *testing.T, id, source, text string, changed bool) {
		it := Item{ID: id, Source: source, Text: text}
		if changed {
			it.Changes = []Event{{Stage: StageNormalise, Rule: "whitespace"}}
		}
		want, err := json.Marshal(&it)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendItemLine([]byte("x"), &it)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != "x"+string(want)+"\n" {
			t.Fatalf("appendItemLine\n%q\njson.Marshal\n%q", got, want)
		}
	})
}
