package policy

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/firebreak/firebreak/safety"
	"github.com/firebreak/firebreak/safety/lexicon"
	"github.com/firebreak/firebreak/safety/textnorm"
)

// layerData is one layer with its files read: terms with where they were
// written, and allow phrases.
type layerData struct {
	name  string // "" for the base, else the overlay key
	spec  *Layer
	terms []lexicon.Term
	where []string // "file:line" of each term
	allow []allowPhrase
	// intents are the layer's intent rules with their phrases read
	intents []safety.NearRule
}

type allowPhrase struct {
	phrase string
	term   string // "" allows every term the phrase contains
	where  string
}

// loader reads the files a spec names, once each, collecting problems.
type loader struct {
	b           *Bundle
	spec        *parsedSpec
	defaultCode string
	probs       []Problem
	seenTerms   map[string]string   // term id → "file:line" across all layers
	phrases     map[string][]string // intent phrase files read, by name
	norm        *textnorm.Normaliser
}

func (ld *loader) fail(file string, err error) {
	p := Problem{File: file, Msg: err.Error()}
	var le *lexicon.LineError
	if errors.As(err, &le) && le.File == file {
		p.Line, p.Msg = le.Line, le.Err.Error()
	}
	ld.probs = append(ld.probs, p)
}

// layer reads one layer's lexicon and allow-list files.
func (ld *loader) layer(name, prefix string, l *Layer) *layerData {
	d := &layerData{name: name, spec: l}
	for i, lx := range l.Lexicons {
		content, ok := ld.b.File(lx.File)
		if !ok {
			ld.missing(fmt.Sprintf("%slexicons[%d].file", prefix, i), lx.File)
			continue
		}
		ld.lexicon(d, lx, content)
	}
	for i, name := range l.Allow {
		content, ok := ld.b.File(name)
		if !ok {
			ld.missing(fmt.Sprintf("%sallow[%d]", prefix, i), name)
			continue
		}
		d.allow = append(d.allow, ld.allowFile(name, content)...)
	}
	ld.intents(d, prefix, l)
	return d
}

func (ld *loader) missing(path, file string) {
	ld.probs = append(ld.probs, Problem{File: SpecFile, Line: ld.spec.line(path),
		Msg: fmt.Sprintf("%s: no file %q in the bundle", path, file)})
}

func (ld *loader) lexicon(d *layerData, lx LexiconSpec, content []byte) {
	code := lx.Code
	if code == "" {
		code = ld.defaultCode
	}
	terms, err := safety.ParseLexicon(bytes.NewReader(content), lx.File, code)
	if err != nil {
		ld.fail(lx.File, err)
		return
	}
	lines := termLines(content)
	for i := range terms {
		t := &terms[i]
		where := fmt.Sprintf("%s:%d", lx.File, lines[i])
		if t.Action == "" {
			t.Action = lx.Action
		}
		for _, f := range lx.Flags {
			t.Pinyin = t.Pinyin || f == "pinyin"
			t.Initials = t.Initials || f == "initials"
			t.Numerals = t.Numerals || f == "numerals"
		}
		if prev, dup := ld.seenTerms[t.Text]; dup {
			ld.probs = append(ld.probs, Problem{File: lx.File, Line: lines[i], Msg: fmt.Sprintf("term %q duplicates %s", t.Text, prev)})
			continue
		}
		ld.seenTerms[t.Text] = where
		d.terms = append(d.terms, *t)
		d.where = append(d.where, where)
	}
}

// termLines returns the line number of each term line, skipping what
// lexicon.ParseFile skips: blank lines and # comments.
func termLines(content []byte) []int {
	var lines []int
	for n, line := range strings.Split(string(content), "\n") {
		line = strings.TrimRight(line, "\r")
		if n == 0 {
			line = strings.TrimPrefix(line, "\uFEFF")
		}
		if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
			lines = append(lines, n+1)
		}
	}
	return lines
}

// allowFile reads "phrase[<TAB>term]" lines; # comments and blank lines
// are skipped.
func (ld *loader) allowFile(name string, content []byte) []allowPhrase {
	var out []allowPhrase
	for n, line := range strings.Split(string(content), "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimRight(line, "\r"), "\uFEFF"))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		phrase, term, _ := strings.Cut(line, "\t")
		phrase, term = strings.TrimSpace(phrase), strings.TrimSpace(term)
		if strings.Contains(term, "\t") || phrase == "" {
			ld.probs = append(ld.probs, Problem{File: name, Line: n + 1, Msg: "want phrase[<TAB>term]"})
			continue
		}
		out = append(out, allowPhrase{phrase: phrase, term: term, where: fmt.Sprintf("%s:%d", name, n+1)})
	}
	return out
}

// applyAllow attaches allow phrases to terms: a phrase with a term to that
// term, a phrase without to every term whose text it contains (compared in
// lower case, which the engine's folding makes equal).
func applyAllow(terms []lexicon.Term, phrases []allowPhrase) []Problem {
	if len(phrases) == 0 {
		return nil
	}
	index := make(map[string][]int, len(terms))
	for i, t := range terms {
		k := strings.ToLower(t.Text)
		index[k] = append(index[k], i)
	}
	var probs []Problem
	add := func(i int, p string) {
		terms[i].Allow = append(terms[i].Allow[:len(terms[i].Allow):len(terms[i].Allow)], p)
	}
	for _, ap := range phrases {
		if ap.term != "" {
			idx, ok := index[strings.ToLower(ap.term)]
			if !ok {
				file, line := splitWhere(ap.where)
				probs = append(probs, Problem{File: file, Line: line, Msg: fmt.Sprintf("allow phrase %q: no term %q", ap.phrase, ap.term)})
			}
			for _, i := range idx {
				add(i, ap.phrase)
			}
			continue
		}
		for _, sub := range substrings(strings.ToLower(ap.phrase)) {
			for _, i := range index[sub] {
				add(i, ap.phrase)
			}
		}
	}
	return probs
}

// substrings lists the distinct substrings of s that start and end on
// rune boundaries, up to lexicon.MaxTermRunes runes long.
func substrings(s string) []string {
	seen := map[string]bool{}
	var out []string
	for i := 0; i < len(s); {
		j, runes := i, 0
		for j < len(s) && runes < lexicon.MaxTermRunes {
			_, size := utf8.DecodeRuneInString(s[j:])
			j += size
			runes++
			if sub := s[i:j]; !seen[sub] {
				seen[sub] = true
				out = append(out, sub)
			}
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return out
}

func splitWhere(w string) (string, int) {
	i := strings.LastIndexByte(w, ':')
	if i < 0 {
		return w, 0
	}
	n, _ := strconv.Atoi(w[i+1:])
	return w[:i], n
}
