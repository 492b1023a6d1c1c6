package support

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
