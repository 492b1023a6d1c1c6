package texthash

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

func TestSHA256Hex(t *testing.T) {
	for _, s := range []string{"", "a", "本内容由人工智能生成", strings.Repeat("x", 2047), strings.Repeat("y", 2048), strings.Repeat("z", 5000)} {
		want := sha256.Sum256([]byte(s))
		if got := SHA256Hex(s); got != hex.EncodeToString(want[:]) {
			t.Errorf("%d bytes: %s", len(s), got)
		}
	}
	s := strings.Repeat("长文本", 100_000)
	if n := testing.AllocsPerRun(10, func() { SHA256Hex(s) }); n > 2 {
		t.Errorf("%v allocations for a 900 KB text: it is copied", n)
	}
}
