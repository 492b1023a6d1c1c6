package jsonstr

import (
	"encoding/json"
	"testing"
)

// FuzzAppend holds Append to json.Marshal on any string.
func FuzzAppend(f *testing.F) {
	for _, s := range []string{"", "plain", `"quoted" \ back`, "<a href='x'>&amp;</a>", "\x00\x01\b\f\n\r\t\x1f\x7f",
		"本内容由人工智能生成", "\u2028\u2029", "\xff\xfe broken \xe4\xb8", "emoji 😀"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := Append([]byte("x"), s); string(got) != "x"+string(want) {
			t.Fatalf("Append(%q) = %s, want %s", s, got[1:], want)
		}
	})
}

func TestAppendAllocatesNothing(t *testing.T) {
	b := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { Append(b[:0], "本内容由人工智能生成 <b> \n") }); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}
