package gateway_test

import (
	"io"
	"os"
	"testing"

	"github.com/firebreak/firebreak/internal/cputime"
	"github.com/firebreak/firebreak/internal/fakeupstream"
	"github.com/firebreak/firebreak/kb"
)

// BenchmarkGrounding is what grounding adds to a whole chat completion
// through the gateway: the same question and answer (three sentences,
// one of them unsupported) on an ungrounded route, the baseline, and on
// a grounded route (retrieval from five documents, the prompt, the
// support check, the annotation), whole and streamed.
func BenchmarkGrounding(b *testing.B) {
	h := newHarness(b, harnessOptions{})
	ctx := b.Context()
	if _, err := h.kb.CreateBase(ctx, kb.Base{Name: "leaflets", Route: "medical"}); err != nil {
		b.Fatal(err)
	}
	for _, f := range []string{"metformin.md", "hypertension.html", "sleep.txt", "二甲双胍.md", "高血压.html"} {
		data, err := os.ReadFile("../kb/testdata/corpus/" + f)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := h.kb.AddDocument(ctx, "leaflets", kb.NewDocument{Title: f, Data: data}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := h.kb.SetGrounding(ctx, kb.Grounding{Route: "medical", Action: kb.Annotate, TopK: 4}); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name, model string
		stream      bool
	}{
		{"baseline ungrounded", "general", false},
		{"grounded", "medical", false},
		{"baseline ungrounded stream", "general", true},
		{"grounded stream", "medical", true},
	} {
		b.Run(c.name, func(b *testing.B) {
			body := chat(c.model, question, c.stream, "")
			start := cputime.Process()
			for b.Loop() {
				h.ups[0].Push(fakeupstream.Reply{Chunks: chunksOf(invented, 12)})
				resp := h.post(body)
				if resp.StatusCode != 200 {
					b.Fatal(resp.StatusCode)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			cputime.Report(b, start, 0)
		})
	}
}
