package pii

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestHold(t *testing.T) {
	d, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		text string
		want string // the held tail
	}{
		{"请拨打", ""},
		{"call me at ", ""},
		{"call me at 138", "138"},
		{"call me at 138 1234", "138 1234"},
		{"call me at 138 1234 ", "138 1234 "},
		{"mail john.doe", "john.doe"},
		{"mail john.doe@exam", "john.doe@exam"},
		{"电话（010）1234", "（010）1234"},
		{"hello world", "world"},
		{"你好，世界。", ""},
		{strings.Repeat("a", 400), strings.Repeat("a", maxEmail)},
	}
	for _, tt := range tests {
		if got := tt.text[len(tt.text)-d.Hold(tt.text):]; got != tt.want {
			t.Errorf("Hold(%q) holds %q, want %q", tt.text, got, tt.want)
		}
	}
}

// TestHoldCoversEveryHit checks the promise a stream relies on: for any
// prefix of a text, no hit in the whole text starts before the held tail
// of that prefix unless it ends within the prefix already.
func TestHoldCoversEveryHit(t *testing.T) {
	d, _ := New(Options{})
	rng := rand.New(rand.NewPCG(7, 8))
	pieces := []string{"我的电话是", "13812345678", " 138 1234 5678", "，邮箱 ", "john.doe+x@example.com", " ip 192.168.1.20 ",
		"身份证 11010519491231002X", "卡号 6222 0212 3456 7890 123", "hello", " world. ", "（010）12345678转123", "\n"}
	for i := 0; i < 300; i++ {
		var b strings.Builder
		for j := 0; j < 8; j++ {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		text := b.String()
		hits := d.Detect(text)
		for cut := 1; cut < len(text); cut++ {
			prefix := text[:cut]
			held := cut - d.Hold(prefix)
			for _, h := range hits {
				if h.Start < held && h.End > held {
					t.Fatalf("text %q cut at %d: hit %q [%d,%d) starts before the held tail at %d",
						text, cut, text[h.Start:h.End], h.Start, h.End, held)
				}
			}
		}
	}
}
