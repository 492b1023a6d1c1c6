package safety

import (
	"testing"

	"github.com/firebreak/firebreak/safety/lexicon"
)

// TestShareLexicon: an engine that differs from another only in its terms'
// actions reuses that engine's automaton and still decides by its own
// actions; one with other terms builds its own.
func TestShareLexicon(t *testing.T) {
	terms := []lexicon.Term{{Text: "毒品", Code: "A1h", Action: "review"}, {Text: "bad thing", Code: "A1f", Action: "review"}}
	base := mustCompile(t, Config{Version: "base", Terms: terms})
	strict := append([]lexicon.Term(nil), terms...)
	strict[0].Action = "refuse"
	over := mustCompile(t, Config{Version: "over", Terms: strict, Share: base})
	if over.Lexicon() != base.Lexicon() {
		t.Fatal("an engine that differs only in actions built its own automaton")
	}
	if got := base.Check(Input, "买毒品").Action; got != Review {
		t.Errorf("base decides %v, want review", got)
	}
	if got := over.Check(Input, "买毒品").Action; got != Refuse {
		t.Errorf("overlay decides %v, want refuse", got)
	}
	more := append(strict[:len(strict):len(strict)], lexicon.Term{Text: "another", Code: "A1h"})
	other := mustCompile(t, Config{Version: "other", Terms: more, Share: base})
	if other.Lexicon() == base.Lexicon() {
		t.Fatal("an engine with other terms reused the automaton")
	}
	if got := other.Check(Input, "another one").Action; got != Refuse {
		t.Errorf("the extra term decides %v, want refuse", got)
	}
}
