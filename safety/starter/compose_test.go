package starter

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the composed part of the lexicon files from recipes/")

// composedMarker separates a lexicon file's hand-written terms from those
// composed from recipes.
const composedMarker = "# ---- composed from recipes/ (edit the recipes, not the lines below) ----"

// composed is one term a recipe makes.
type composed struct{ file, code, action, term string }

// readRecipes composes every recipe file: "file NAME CODE ACTION" starts
// a target, a "t" line gives templates ({} is the object), and each "o"
// line gives objects composed with the templates before it. Items are
// separated by " | ".
func readRecipes(t *testing.T) []composed {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("recipes", "*.txt"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no recipes: %v", err)
	}
	var out []composed
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var target composed
		var templates []string
		for n, line := range strings.Split(string(b), "\n") {
			kind, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
			at := fmt.Sprintf("%s:%d", p, n+1)
			switch kind {
			case "", "#":
			case "file":
				f := strings.Fields(rest)
				if len(f) != 3 || !slices.Contains(Names, f[0]) {
					t.Fatalf("%s: want file NAME CODE ACTION with NAME one of Names", at)
				}
				target, templates = composed{file: f[0], code: f[1], action: f[2]}, nil
			case "t":
				templates = items(rest)
				for _, tp := range templates {
					if strings.Count(tp, "{}") != 1 {
						t.Fatalf("%s: template %q needs exactly one {}", at, tp)
					}
				}
			case "o":
				if target.file == "" || templates == nil {
					t.Fatalf("%s: objects before a file and templates", at)
				}
				for _, tp := range templates {
					for _, o := range items(rest) {
						c := target
						c.term = strings.ToLower(strings.Replace(tp, "{}", o, 1))
						out = append(out, c)
					}
				}
			default:
				t.Fatalf("%s: unknown line kind %q", at, kind)
			}
		}
	}
	return out
}

func items(s string) []string {
	var out []string
	for _, it := range strings.Split(s, " | ") {
		if it = strings.TrimSpace(it); it != "" {
			out = append(out, it)
		}
	}
	return out
}

// handPart returns a lexicon file's hand-written part (everything before
// the composed marker) and the lower-cased terms in it.
func handPart(t *testing.T, name string) (string, []string) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	hand, _, _ := strings.Cut(string(b), composedMarker)
	var terms []string
	sc := bufio.NewScanner(strings.NewReader(hand))
	for sc.Scan() {
		if line := sc.Text(); line != "" && !strings.HasPrefix(line, "#") {
			term, _, _ := strings.Cut(line, "\t")
			terms = append(terms, strings.ToLower(term))
		}
	}
	return strings.TrimRight(hand, "\n") + "\n", terms
}

// TestComposed checks that the composed part of every lexicon file is what
// the recipes make (with -update, writes it): each composed term once in
// the whole library, after the hand-written terms.
func TestComposed(t *testing.T) {
	seen := map[string]bool{}
	hands := map[string]string{}
	for _, name := range Names {
		hand, terms := handPart(t, name)
		hands[name] = hand
		for _, term := range terms {
			seen[term] = true
		}
	}
	lines := map[string][]string{}
	for _, c := range readRecipes(t) {
		if seen[c.term] {
			continue
		}
		seen[c.term] = true
		lines[c.file] = append(lines[c.file], c.term+"\t"+c.code+"\t"+c.action)
	}
	for _, name := range Names {
		want := hands[name]
		if len(lines[name]) > 0 {
			want += "\n" + composedMarker + "\n" + strings.Join(lines[name], "\n") + "\n"
		}
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) == want {
			continue
		}
		if *update {
			if err := os.WriteFile(name, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		t.Errorf("%s is not what recipes/ compose: run go test ./safety/starter -run TestComposed -update", name)
	}
}
