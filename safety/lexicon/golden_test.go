package lexicon

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/internal/benchtext"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenTerms is ten thousand generated terms with every feature mixed
// in, after the hand-written test terms.
func goldenTerms() []Term {
	terms := testTerms()
	han := []rune(benchtext.CommonHan)
	for i, w := range benchtext.Terms(10000, 5) {
		t := Term{Text: w}
		switch i % 23 {
		case 1, 9:
			t.Pinyin = true
		case 2:
			t.Numerals = true
			t.Text = w + string(han[62]) // 十, 三 … sit early in commonHan
		case 3:
			t.Allow = []string{w + string(han[i%40])}
		case 4:
			t.Near = &Near{Phrases: []string{string(han[i%30]), "model"}, Within: 1 + i%9}
		case 5:
			t.Text = w + w[len(w)-3:] // a repeated last character
		case 6:
			t.Initials = true
		}
		if slices.ContainsFunc(terms, func(x Term) bool { return x.Text == t.Text }) {
			continue
		}
		terms = append(terms, t)
	}
	return terms
}

// disguise rewrites text the way evasions do: noise between characters,
// zero-width runes, repeats, full-width letters, line breaks.
func disguise(rng *rand.Rand, text string) string {
	var b strings.Builder
	for _, r := range text {
		switch rng.IntN(40) {
		case 0:
			b.WriteString(" ")
		case 1:
			b.WriteString("*")
		case 2:
			b.WriteString("\u200b")
		case 3:
			b.WriteRune(r)
		case 4:
			if r >= 'a' && r <= 'z' {
				r += 'Ａ' - 'a'
			}
		case 5:
			b.WriteString("\n")
		case 6:
			b.WriteString("，，，，")
		}
		b.WriteRune(r)
	}
	return b.String()
}

func goldenTexts() []string {
	rng := rand.New(rand.NewPCG(17, 4))
	var texts []string
	for i := range 32 {
		text := benchtext.Corpus(4096, uint64(100+i))
		if i%2 == 1 {
			text = disguise(rng, text)
		}
		texts = append(texts, text)
	}
	for range 200 {
		texts = append(texts, plantedText(rng))
	}
	return texts
}

// TestFindGolden pins Find's matches on a generated lexicon and corpus, so
// that a change to the automaton or the scanner that alters any match
// shows up. Regenerate with -update only when the change is intended.
func TestFindGolden(t *testing.T) {
	l := mustLexicon(t, goldenTerms(), Options{})
	var b strings.Builder
	total := 0
	for i, text := range goldenTexts() {
		ms := l.Find(text)
		total += len(ms)
		fmt.Fprintf(&b, "# text %d: %d bytes, %d matches\n", i, len(text), len(ms))
		for _, m := range ms {
			fmt.Fprintf(&b, "%d %d %s\n", m.Start, m.End, l.Term(m.Term).ID)
		}
	}
	if total < 1000 {
		t.Fatalf("only %d matches: the golden corpus no longer exercises the matcher", total)
	}
	path := filepath.Join("testdata", "find.golden")
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if got := b.String(); got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("%s line %d: got %q, want %q", path, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("%s: got %d lines, want %d", path, len(gl), len(wl))
	}
}

// TestStreamGolden checks the generated corpus chunked at random against
// Find, with the same generated lexicon.
func TestStreamGolden(t *testing.T) {
	l := mustLexicon(t, goldenTerms(), Options{})
	rng := rand.New(rand.NewPCG(5, 5))
	for i, text := range goldenTexts()[:30] {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			got := streamMatches(t, l, randomChunks(rng, text))
			if want := l.Find(text); !slices.Equal(got, want) {
				t.Fatalf("stream found %d matches, find %d", len(got), len(want))
			}
		})
	}
}
