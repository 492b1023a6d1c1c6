package label_test

import (
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/firebreak/firebreak/label"
)

// FuzzParse feeds any bytes to the readers "label verify" runs on files a
// user hands it: no input may crash them, and whatever they accept holds
// only values that keep the standard's character rules and verifies to a
// verdict.
func FuzzParse(f *testing.F) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	keys := label.NewKeys(pub)
	a := label.NewSigner(priv).Sign(label.AIGC{Label: "1", ContentProducer: "firebreak", ProduceID: "01JABCDEFGHJKMNPQRSTVWXYZ0"}, "你好\n\nAI生成")
	md, _ := label.Markdown(a, "你好\n\nAI生成", "")
	docx, _ := label.DOCX(a, "hello", "", time.Unix(0, 0))
	f.Add(md)
	f.Add(docx)
	f.Add([]byte(`{"AIGC":` + a.String() + `}`))
	f.Add([]byte("---\nAIGC: {Label: 1}\n---\nbody\n\n<!-- AIGC explicit label -->\nAI生成\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		readers := []func([]byte) (label.AIGC, string, error){
			label.ParseMarkdown, label.ParseDOCX,
			func(b []byte) (label.AIGC, string, error) { a, err := label.ParseAIGC(b); return a, "", err },
		}
		for _, read := range readers {
			got, text, err := read(data)
			if err != nil {
				continue
			}
			if err := got.Validate(); err != nil {
				t.Fatalf("accepted %+v: %v", got, err)
			}
			switch r := label.Verify(label.Claim{AIGC: got, Text: text}, keys, nil, false); r.Verdict {
			case label.Genuine, label.Altered, label.Unknown:
			default:
				t.Fatalf("verdict %q", r.Verdict)
			}
		}
	})
}
