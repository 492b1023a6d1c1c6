package support

import (
	"slices"
	"strings"
	"testing"
)

func TestCheckFlagsPlantedClaims(t *testing.T) {
	passages := []string{
		"Metformin is a first-line medicine for type 2 diabetes. The usual starting dose is 500 mg once or twice a day with meals.",
		"二甲双胍缓释片每日最大剂量为2000毫克。常见不良反应为恶心、腹泻和胃部不适。",
	}
	ev := NewEvidence(passages)
	tests := []struct {
		name, answer string
		flagged      []int // indexes of the sentences flagged
	}{
		{"supported en", "Metformin is a first-line medicine for type 2 diabetes [1]. The usual starting dose is 500 mg with meals [1].", nil},
		{"invented claim en", "Metformin is a first-line medicine for type 2 diabetes [1]. It also cures hair loss in elderly patients overnight.", []int{1}},
		{"changed number en", "The usual starting dose is 850 mg once a day with meals [1].", []int{0}},
		{"supported zh", "二甲双胍缓释片每日最大剂量为2000毫克[2]。常见不良反应为恶心和腹泻[2]。", nil},
		{"invented claim zh", "二甲双胍缓释片每日最大剂量为2000毫克[2]。长期服用可以预防老年痴呆和脱发。", []int{1}},
		{"changed number zh", "二甲双胍缓释片每日最大剂量为3000毫克。", []int{0}},
		{"changed chinese numeral", "常见不良反应为恶心，每日最多服用五次。", []int{0}},
		{"not claims", "好的。Do you take it with food? 资料中没有提到儿童的剂量。The passages do not contain that.", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ev.Check(tt.answer, DefaultMinSupport)
			var got []int
			for _, f := range s.Flagged() {
				got = append(got, f.Index)
			}
			if !slices.Equal(got, tt.flagged) {
				for _, x := range s.Sentences {
					t.Logf("%d %.2f claim=%v numbers=%v %q", x.Index, x.Score, x.Claim, x.Numbers, x.Text)
				}
				t.Fatalf("flagged %v, want %v", got, tt.flagged)
			}
			if s.Unsupported != len(tt.flagged) {
				t.Errorf("Unsupported = %d", s.Unsupported)
			}
			var b strings.Builder
			for _, x := range s.Sentences {
				if tt.answer[x.Start:x.End] != x.Text {
					t.Errorf("offsets of %q", x.Text)
				}
				b.WriteString(x.Text)
			}
			if b.String() != tt.answer {
				t.Error("sentences do not make the answer")
			}
		})
	}
}
