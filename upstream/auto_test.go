package upstream

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// naivePick is the specification of autoRouter.pick: every occurrence of a
// keyword in the lower-cased text (overlapping ones included) is one hit for
// each rule listing it; the highest score wins, ties go to the first rule,
// no hit means -1.
func naivePick(rules []DomainRule, text string) int {
	low := string(foldLower(nil, text))
	win, top := -1, 0
	for d, r := range rules {
		score, seen := 0, map[string]bool{}
		for _, k := range r.Keywords {
			k = string(foldLower(nil, k))
			if seen[k] {
				continue
			}
			seen[k] = true
			for i := 0; i+len(k) <= len(low); i++ {
				if low[i:i+len(k)] == k {
					score++
				}
			}
		}
		if score > top {
			win, top = d, score
		}
	}
	return win
}

func TestAutoPickMatchesSpecification(t *testing.T) {
	rules := []DomainRule{
		{Domain: "a", Model: "m", Keywords: []string{"ab", "abc", "作业", "Bc", "aa", "ab"}},
		{Domain: "b", Model: "m", Keywords: []string{"bcd", "c", "业务"}},
		{Domain: "c", Model: "m", Keywords: []string{"abcd", "D", "作"}},
	}
	a, err := newAutoRouter(rules, map[string]*modelEntry{"m": {}})
	if err != nil {
		t.Fatal(err)
	}
	alphabet := []string{"a", "b", "c", "d", "A", "B", "C", "D", " ", "作", "业", "务", "x"}
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 5000 {
		var b strings.Builder
		for range rng.IntN(24) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		text := b.String()
		if got, want := a.pick(text), naivePick(rules, text); got != want {
			t.Fatalf("case %d: pick(%q) = %d, want %d", n, text, got, want)
		}
	}
}

func TestFoldLower(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"ascii", "HeLLo World", "hello world"},
		{"latin", "ÄÖÜ Straße", "äöü straße"},
		{"cjk unchanged", "作业 ABC", "作业 abc"},
		{"invalid utf-8 kept", "A\xffB", "a\xffb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(foldLower(nil, tt.in)); got != tt.want {
				t.Errorf("foldLower(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
