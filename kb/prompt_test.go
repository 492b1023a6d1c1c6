package kb

import (
	"strings"
	"testing"

	"github.com/firebreak/firebreak/kb/support"
)

func TestCitations(t *testing.T) {
	ps := []Passage{{Title: "a", Text: "alpha"}, {Title: "b", Text: strings.Repeat("长", 300)}}
	s := support.NewEvidence([]string{"alpha beta gamma"}).Check("Alpha beta gamma [2]. 【1】", 0.5)
	cs := Citations(ps, s)
	if len(cs) != 2 || !cs[0].Cited || !cs[1].Cited || cs[1].Index != 2 || len([]rune(cs[1].Excerpt)) != 201 {
		t.Fatalf("%+v", cs)
	}
	if p := Prompt(ps); !strings.Contains(p, "[2] b\n") || !strings.HasPrefix(p, Instructions) {
		t.Errorf("prompt %q", p)
	}
}
