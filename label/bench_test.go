package label_test

import (
	"crypto/ed25519"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/internal/cputime"
	"github.com/firebreak/firebreak/label"
)

// BenchmarkStreamPlace is the placement step a stream's chunk takes: one
// Place per content chunk of a 100-chunk answer (start and end labels),
// reported per chunk.
func BenchmarkStreamPlace(b *testing.B) {
	b.ReportAllocs()
	p := label.Default()
	p.Position = label.Both
	start := cputime.Process()
	for b.Loop() {
		s := (&label.Answer{Policy: p, Lang: label.Auto, Prompt: "hello"}).Stream()
		for i := range 100 {
			s.Place(label.Piece{Content: "word and some more text ", Finish: i == 99})
		}
		if s.Text() == "" {
			b.Fatal("no text")
		}
	}
	b.ReportMetric(float64((cputime.Process()-start).Nanoseconds())/float64(b.N*100), "cpu-ns/chunk")
}

// BenchmarkSign is the implicit label's cost per answer: the SHA-256 of a
// 2.4 KB answer and the Ed25519 signature.
func BenchmarkSign(b *testing.B) {
	b.ReportAllocs()
	_, priv, _ := ed25519.GenerateKey(nil)
	s := label.NewSigner(priv)
	text := strings.Repeat("word and some more text ", 100)
	a := label.AIGC{Label: label.Generated, ContentProducer: "firebreak", ProduceID: "01JABCDEFGHJKMNPQRSTVWXYZ0"}
	start := cputime.Process()
	for b.Loop() {
		if s.Sign(a, text).ReservedCode1 == "" {
			b.Fatal("unsigned")
		}
	}
	cputime.Report(b, start, 0)
}
