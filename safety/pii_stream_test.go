package safety_test

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/safety"
	"github.com/firebreak/firebreak/safety/pii"
)

func init() { safety.RegisterDetector("pii", pii.FromSettings) }

// TestStreamPIIHoldBack streams texts with personal information in random
// chunkings through an engine with the PII detector: no unmasked value is
// ever released, the released text equals the whole-text mask, and prose
// is released without waiting for the longest possible e-mail address.
func TestStreamPIIHoldBack(t *testing.T) {
	e, err := safety.Compile(safety.Config{Version: "t", Detectors: []safety.DetectorConfig{{ID: "pii", Type: "pii", Settings: json.RawMessage(`{}`)}}})
	if err != nil {
		t.Fatal(err)
	}
	values := []string{"13812345678", "138 1234 5678", "john.doe+x@example.com", "11010519491231002X", "6222 0212 3456 7890 123", "192.168.1.20"}
	fill := []string{"我的电话是", "，邮箱", " and my mail is ", "请联系", "。", " ", "today ", "身份证号"}
	rng := rand.New(rand.NewPCG(11, 12))
	for i := 0; i < 300; i++ {
		var b strings.Builder
		for j := 0; j < 6; j++ {
			if rng.IntN(2) == 0 {
				b.WriteString(values[rng.IntN(len(values))])
			} else {
				b.WriteString(fill[rng.IntN(len(fill))])
			}
		}
		text := b.String()
		whole := e.Check(safety.Output, text)
		want := text
		if whole.Action == safety.Mask {
			want = whole.Masked
		}
		s := e.NewStream(safety.Output)
		var got strings.Builder
		for rest := text; len(rest) > 0; {
			n := min(len(rest), 1+rng.IntN(7))
			got.WriteString(s.Write(rest[:n]).Release)
			rest = rest[n:]
		}
		got.WriteString(s.Close().Release)
		if got.String() != want {
			t.Fatalf("text %q\nreleased %q\nwant     %q", text, got.String(), want)
		}
	}

	// Prose streams out as it comes: the hold-back is a word, not 254 bytes.
	s := e.NewStream(safety.Output)
	prose := strings.Repeat("这是一个很长的回答，没有任何个人信息。", 10)
	if rel := s.Write(prose).Release; len(prose)-len(rel) > 8 {
		t.Fatalf("held back %d bytes of prose", len(prose)-len(rel))
	}
}
