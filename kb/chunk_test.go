package kb

import (
	"slices"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/kb/support"
)

func TestChunk(t *testing.T) {
	var b strings.Builder
	for i := range 40 {
		b.WriteString("Sentence number ")
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString(" ends here. ")
	}
	text := b.String()
	chunks := Chunk(text, ChunkOptions{Size: 120, Overlap: 40})
	if len(chunks) < 5 {
		t.Fatalf("%d chunks", len(chunks))
	}
	for i, c := range chunks {
		if n := len([]rune(c)); n > 120 {
			t.Errorf("chunk %d has %d runes", i, n)
		}
		if i > 0 {
			// the chunk begins with the last sentence of the one before
			prev := support.Sentences(chunks[i-1])
			last := strings.TrimSpace(prev[len(prev)-1])
			if !strings.HasPrefix(c, last) {
				t.Errorf("chunk %d does not overlap the one before: %q / %q", i, chunks[i-1], c)
			}
		}
	}
	// every sentence is in some chunk
	for _, s := range support.Sentences(text) {
		s = strings.TrimSpace(s)
		if !slices.ContainsFunc(chunks, func(c string) bool { return strings.Contains(c, s) }) {
			t.Errorf("sentence %q lost", s)
		}
	}
	if got := Chunk("短。", ChunkOptions{}); !slices.Equal(got, []string{"短。"}) {
		t.Errorf("one short chunk: %q", got)
	}
	long := strings.Repeat("长", 1200)
	got := Chunk(long, ChunkOptions{Size: 500})
	if strings.Join(got, "") != long || len(got) != 3 {
		t.Errorf("a sentence longer than Size: %d chunks", len(got))
	}
}
