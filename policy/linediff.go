package policy

import (
	"strings"

	udiff "github.com/aymanbagabas/go-udiff"
)

// FileDiff is the line diff of one file of two bundles, in hunks with
// three lines of context.
type FileDiff struct {
	Name   string
	Status string // "added", "removed" or "changed"
	Hunks  []Hunk
}

// Hunk is a run of changed lines with their context.
type Hunk struct {
	Lines []DiffLine
}

// DiffLine is one line of a hunk: Old and New are its line numbers in the
// older and newer file (0 where it is not in that file).
type DiffLine struct {
	Kind     string // "equal", "insert", "delete"
	Old, New int
	Text     string
}

// contextLines is how many unchanged lines surround each change.
const contextLines = 3

// lineDiffs compares the files of two bundles line by line (Myers' diff,
// github.com/aymanbagabas/go-udiff): every file added, removed or changed,
// in name order.
func lineDiffs(from, to *Bundle) []FileDiff {
	names := map[string]bool{}
	for _, n := range from.Names() {
		names[n] = true
	}
	for _, n := range to.Names() {
		names[n] = true
	}
	var out []FileDiff
	for _, n := range sortedKeys(names) {
		a, inA := from.File(n)
		b, inB := to.File(n)
		if inA && inB && string(a) == string(b) {
			continue
		}
		fd := FileDiff{Name: n, Status: "changed"}
		switch {
		case !inA:
			fd.Status = "added"
		case !inB:
			fd.Status = "removed"
		}
		fd.Hunks = lineHunks(string(a), string(b))
		out = append(out, fd)
	}
	return out
}

// lineHunks is the diff of two texts in hunks.
func lineHunks(a, b string) []Hunk {
	u, err := udiff.ToUnifiedDiff("a", "b", a, udiff.Lines(a, b), contextLines)
	if err != nil { // the edits come from the same text: cannot happen
		return []Hunk{{Lines: []DiffLine{{Kind: "delete", Text: err.Error()}}}}
	}
	out := make([]Hunk, 0, len(u.Hunks))
	for _, h := range u.Hunks {
		old, cur := h.FromLine, h.ToLine
		var hk Hunk
		for _, l := range h.Lines {
			d := DiffLine{Text: strings.TrimSuffix(l.Content, "\n")}
			switch l.Kind {
			case udiff.Delete:
				d.Kind, d.Old = "delete", old
				old++
			case udiff.Insert:
				d.Kind, d.New = "insert", cur
				cur++
			default:
				d.Kind, d.Old, d.New = "equal", old, cur
				old++
				cur++
			}
			hk.Lines = append(hk.Lines, d)
		}
		out = append(out, hk)
	}
	return out
}
