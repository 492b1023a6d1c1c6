package policy

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/firebreak/firebreak/safety/lexicon"
)

// WriteSummary describes the compiled engines: per engine, its version,
// terms per risk code and action, and rule and detector counts. The text
// is stable, for golden files and for reviewing a change.
func (c *Compiled) WriteSummary(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "bundle %s (%s): %d files\n", c.Version(), c.spec.Name, len(c.bundle.Names()))
	for _, name := range sortedKeys(c.engines) {
		e := c.engines[name]
		lx := e.Lexicon()
		info := c.info[name]
		fmt.Fprintf(bw, "engine %s version %s: %d terms, %d rules, detectors %v\n", cmpName(name), e.Version(), lx.Len(), info.rules, info.detectors)
		if info.intents > 0 {
			fmt.Fprintf(bw, "  intent rules %d\n", info.intents)
		}
		for _, o := range info.overrides {
			fmt.Fprintf(bw, "  override %s %s -> %s\n", o.Code, cmpOr(o.Direction, "both"), o.Action)
		}
		counts := map[string]int{}
		for i := range lx.Len() {
			t := lx.Term(i)
			counts[t.Code+" "+orDefault(t.Action)]++
		}
		for _, k := range sortedKeys(counts) {
			fmt.Fprintf(bw, "  %-14s %d\n", k, counts[k])
		}
	}
	if s := c.spec.Strikes; s != nil {
		l, _ := s.SanctionLadder()
		fmt.Fprintf(bw, "strikes: codes %v, %d ladder steps\n", s.Codes, len(l.Steps))
	}
	return bw.Flush()
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func orDefault(action string) string {
	if action == "" {
		return "(default)"
	}
	return action
}

// Diff lists what changes from one compiled bundle to another: files,
// overlays, and terms of the base engine added, removed or given another
// code or action.
type Diff struct {
	From, To      string
	FilesAdded    []string
	FilesRemoved  []string
	FilesChanged  []string
	TermsAdded    []string // "term (code action)"
	TermsRemoved  []string
	TermsChanged  []string // "term: code action -> code action"
	EnginesBefore []string
	EnginesAfter  []string
	// Lines is the line diff of every file added, removed or changed.
	Lines []FileDiff
}

// DiffOf compares two compiled bundles.
func DiffOf(from, to *Compiled) Diff {
	d := Diff{From: from.Version(), To: to.Version(), EnginesBefore: engineNames(from), EnginesAfter: engineNames(to),
		Lines: lineDiffs(from.bundle, to.bundle)}
	for _, n := range to.bundle.Names() {
		old, ok := from.bundle.File(n)
		cur, _ := to.bundle.File(n)
		switch {
		case !ok:
			d.FilesAdded = append(d.FilesAdded, n)
		case !bytes.Equal(old, cur):
			d.FilesChanged = append(d.FilesChanged, n)
		}
	}
	for _, n := range from.bundle.Names() {
		if _, ok := to.bundle.File(n); !ok {
			d.FilesRemoved = append(d.FilesRemoved, n)
		}
	}
	a, b := termMap(from.Base().Lexicon()), termMap(to.Base().Lexicon())
	for _, k := range sortedKeys(b) {
		switch old, ok := a[k]; {
		case !ok:
			d.TermsAdded = append(d.TermsAdded, fmt.Sprintf("%s (%s)", k, b[k]))
		case old != b[k]:
			d.TermsChanged = append(d.TermsChanged, fmt.Sprintf("%s: %s -> %s", k, old, b[k]))
		}
	}
	for _, k := range sortedKeys(a) {
		if _, ok := b[k]; !ok {
			d.TermsRemoved = append(d.TermsRemoved, fmt.Sprintf("%s (%s)", k, a[k]))
		}
	}
	return d
}

func engineNames(c *Compiled) []string {
	names := sortedKeys(c.engines)
	for i, n := range names {
		names[i] = cmpName(n)
	}
	return names
}

func termMap(lx *lexicon.Lexicon) map[string]string {
	m := make(map[string]string, lx.Len())
	for i := range lx.Len() {
		t := lx.Term(i)
		m[t.Text] = t.Code + " " + orDefault(t.Action)
	}
	return m
}

// Empty reports whether the two bundles are the same.
func (d Diff) Empty() bool { return d.From == d.To }

// WriteText renders the diff, listing at most max items per section
// (0: all).
func (d Diff) WriteText(w io.Writer, max int) error {
	bw := bufio.NewWriter(w)
	if d.Empty() {
		fmt.Fprintf(bw, "no change: both are %s\n", d.From)
		return bw.Flush()
	}
	fmt.Fprintf(bw, "%s -> %s\n", d.From, d.To)
	if !slices.Equal(d.EnginesBefore, d.EnginesAfter) {
		fmt.Fprintf(bw, "engines: %s -> %s\n", strings.Join(d.EnginesBefore, ", "), strings.Join(d.EnginesAfter, ", "))
	}
	sections := []struct {
		title string
		items []string
	}{{"files added", d.FilesAdded}, {"files removed", d.FilesRemoved}, {"files changed", d.FilesChanged},
		{"terms added", d.TermsAdded}, {"terms removed", d.TermsRemoved}, {"terms changed", d.TermsChanged}}
	for _, s := range sections {
		if len(s.items) == 0 {
			continue
		}
		fmt.Fprintf(bw, "%s (%d):\n", s.title, len(s.items))
		for i, it := range s.items {
			if max > 0 && i == max {
				fmt.Fprintf(bw, "  … %d more\n", len(s.items)-max)
				break
			}
			fmt.Fprintf(bw, "  %s\n", it)
		}
	}
	return bw.Flush()
}
