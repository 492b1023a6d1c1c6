package label_test

import (
	"strings"
	"testing"
	"time"

	"github.com/firebreak/firebreak/label"
)

// TestDOCXPartOverLimit: a DOCX whose document.xml inflates past 64 MiB
// is refused saying so; it used to be read cut short at 64 MiB, so a
// genuine long text verified as altered or failed as broken XML.
func TestDOCXPartOverLimit(t *testing.T) {
	a := label.AIGC{Label: label.Generated, ContentProducer: "firebreak", ProduceID: "01JABCDEFGHJKMNPQRSTVWXYZ0"}
	doc, err := label.DOCX(a, strings.Repeat("a", 64<<20), "AI生成", time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := label.ParseDOCX(doc); err == nil || !strings.Contains(err.Error(), "document.xml: larger than 64 MiB uncompressed") {
		t.Fatalf("a %d-byte DOCX with 64 MiB of text: %v", len(doc), err)
	}
}
