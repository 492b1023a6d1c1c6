package lexicon

import (
	"strings"
	"testing"

	"github.com/firebreak/firebreak/internal/benchtext"
	"github.com/firebreak/firebreak/safety/textnorm"
)

// TestCorpusWithoutHits holds the benchmark's lexicon "without hits" to
// its word: the rare characters and words never occur in the corpus, and
// the lexicon finds nothing there.
func TestCorpusWithoutHits(t *testing.T) {
	corpus := benchtext.Corpus(1<<20, 1)
	n, _ := textnorm.New(textnorm.Options{})
	for _, r := range benchtext.RareHan {
		if strings.ContainsRune(corpus, r) || n.Letters(string(r)) != string(r) {
			t.Fatalf("rare character %q occurs in the corpus or folds", r)
		}
	}
	for _, w := range benchtext.RareWords {
		if strings.Contains(corpus, w) {
			t.Fatalf("rare word %q occurs in the corpus", w)
		}
	}
	terms := benchtext.WithoutHits(benchtext.Terms(2000, 2))
	lt := make([]Term, len(terms))
	for i, w := range terms {
		lt[i] = Term{Text: w}
	}
	lx, err := New(lt, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m := lx.Find(corpus); len(m) != 0 {
		t.Fatalf("%d hits, want none; first %q", len(m), corpus[m[0].Start:m[0].End])
	}
}
