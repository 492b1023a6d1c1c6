package starter

import (
	"bufio"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// entry is one parsed lexicon line.
type entry struct {
	file   string
	line   int
	term   string
	code   string
	action string
}

// parse is a minimal reader of the line format, independent of the engine's
// parser: term, tab, risk code, optional tab and action.
func parse(t *testing.T, name string) []entry {
	t.Helper()
	f, err := Files.Open(name)
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	t.Cleanup(func() { f.Close() })
	var out []entry
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, "\t")
		if len(fields) < 2 || len(fields) > 3 {
			t.Errorf("%s:%d: want term<TAB>code[<TAB>action], got %d fields", name, n, len(fields))
			continue
		}
		e := entry{file: name, line: n, term: fields[0], code: fields[1]}
		if len(fields) == 3 {
			e.action = fields[2]
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return out
}

// canonical reports whether c is one of the 31 risk codes of COMPLIANCE.md.
func canonical(c string) bool {
	last := map[string]byte{"A1": 'h', "A2": 'i', "A3": 'e', "A4": 'g', "A5": 'b'}
	return len(c) == 3 && last[c[:2]] != 0 && c[2] >= 'a' && c[2] <= last[c[:2]]
}

func TestNamesMatchFiles(t *testing.T) {
	got, err := fs.Glob(Files, "*.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(Names)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("embedded files %q, Names %q", got, want)
	}
}

func TestFiles(t *testing.T) {
	actions := map[string]bool{"": true, "allow": true, "mask": true, "review": true, "refuse": true, "block": true}
	seen := map[string]entry{}
	total := 0
	for _, name := range Names {
		t.Run(name, func(t *testing.T) {
			b, err := fs.ReadFile(Files, name)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b[:min(len(b), 1000)]), "starting point") {
				t.Error("header does not say the file is a starting point")
			}
			entries := parse(t, name)
			if len(entries) < 20 {
				t.Errorf("only %d terms", len(entries))
			}
			total += len(entries)
			for _, e := range entries {
				checkEntry(t, e, actions)
				key := strings.ToLower(e.term)
				if prev, dup := seen[key]; dup {
					t.Errorf("%s:%d: %q duplicates %s:%d", e.file, e.line, e.term, prev.file, prev.line)
				}
				seen[key] = e
			}
		})
	}
	if total < 300 {
		t.Errorf("%d terms in total, want at least 300", total)
	}
}

// checkEntry asserts one line's fields: a trimmed, lower-case term that is
// long enough not to be a single ambiguous word, a canonical code and a
// known action.
func checkEntry(t *testing.T, e entry, actions map[string]bool) {
	t.Helper()
	at := func() string { return e.file + ":" + strconv.Itoa(e.line) }
	switch {
	case e.term == "" || strings.TrimSpace(e.term) != e.term || strings.Contains(e.term, "  "):
		t.Errorf("%s: term %q has stray spaces or is empty", at(), e.term)
	case !utf8.ValidString(e.term):
		t.Errorf("%s: term is not UTF-8", at())
	case strings.ToLower(e.term) != e.term:
		t.Errorf("%s: term %q is not lower case", at(), e.term)
	case utf8.RuneCountInString(e.term) < 2 || (isASCII(e.term) && len(e.term) < 4):
		t.Errorf("%s: term %q is too short to be unambiguous", at(), e.term)
	}
	if !canonical(e.code) {
		t.Errorf("%s: %q is not a canonical risk code", at(), e.code)
	}
	if !actions[e.action] {
		t.Errorf("%s: unknown action %q", at(), e.action)
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
