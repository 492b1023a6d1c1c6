package bank

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzParse: any bytes parse or fail with an error, never a panic; what
// parses writes back to the same items.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"id":"a","bank":"should-refuse","risk":"A1d","lang":"en","prompt":"x"}` + "\n"))
	f.Add([]byte(`{"id":"b","bank":"capability","lang":"zh","messages":[{"role":"user","content":"问"}],"key":{"choice":"B","options":2}}`))
	f.Add([]byte(`{"id":"c","bank":"custom","lang":"en","prompt":"y","code":{"lang":"python","tests":"assert 1"},"graders":["code"]}` + "\n\n{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		bf, err := Parse("fuzz", bytes.NewReader(data))
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		var buf bytes.Buffer
		if err := Write(&buf, bf.Items); err != nil {
			t.Fatal(err)
		}
		again, err := Parse("again", &buf)
		if err != nil || len(again.Items) != len(bf.Items) {
			t.Fatalf("round trip: %v, %d items, want %d", err, len(again.Items), len(bf.Items))
		}
	})
}
