package kb

import (
	"slices"
	"strings"
	"testing"
)

func TestTerms(t *testing.T) {
	tests := []struct{ in, want string }{
		{"The Daily dose is 4 grams.", "daily dose 4 grams"},
		{"糖尿病患者", "糖尿 尿病 病患 患者"},
		{"二甲双胍 500mg，每日两次", "二甲 甲双 双胍 500 mg 每日 日两 两次"},
		{"ＡＢＣ１２３ 退", "abc 123 退"},
		{"Café naïve", "café naïve"},
	}
	for _, tt := range tests {
		if got := strings.Join(Terms(tt.in), " "); got != tt.want {
			t.Errorf("Terms(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	long := strings.Repeat("x", 200)
	if got := Terms(long); len(got) != 1 || len(got[0]) != maxTermBytes {
		t.Errorf("long word: %v", got)
	}
}

func TestSentences(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"First one. Second one! Third?", []string{"First one. ", "Second one! ", "Third?"}},
		{"服用后多喝水。每日不超过4克！", []string{"服用后多喝水。", "每日不超过4克！"}},
		{"Take 2.5 mg, e.g. with food. Done.", []string{"Take 2.5 mg, e.g. with food. ", "Done."}},
		{"他说：“好。”然后走了。", []string{"他说：“好。”", "然后走了。"}},
		{"line one\nline two", []string{"line one\n", "line two"}},
	}
	for _, tt := range tests {
		got := Sentences(tt.in)
		if !slices.Equal(got, tt.want) {
			t.Errorf("Sentences(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if strings.Join(got, "") != tt.in {
			t.Errorf("Sentences(%q) lost text", tt.in)
		}
	}
}

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
			prev := Sentences(chunks[i-1])
			last := strings.TrimSpace(prev[len(prev)-1])
			if !strings.HasPrefix(c, last) {
				t.Errorf("chunk %d does not overlap the one before: %q / %q", i, chunks[i-1], c)
			}
		}
	}
	// every sentence is in some chunk
	for _, s := range Sentences(text) {
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
