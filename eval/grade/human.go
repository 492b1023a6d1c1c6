package grade

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"

	"github.com/firebreak/firebreak/internal/linescan"
)

// HumanGrade is one person's grade of one item's answer: a line of a
// grading file. The evaluator writes the lines to fill in
// (grading-todo.jsonl) in the same format, with Verdict empty.
type HumanGrade struct {
	ID      string `json:"id"`                // the item id in the run (with "~mutation" for probes)
	Verdict string `json:"verdict"`           // pass or fail; comply, refuse or partial for refusal banks
	By      string `json:"by,omitempty"`      // who graded
	Note    string `json:"note,omitempty"`    // why, optional
	Bank    string `json:"bank,omitempty"`    // context for the grader, ignored on reading
	Risk    string `json:"risk,omitempty"`    // context
	Prompt  string `json:"prompt,omitempty"`  // context
	Answer  string `json:"answer,omitempty"`  // context: the answer to grade
	Created string `json:"created,omitempty"` // context
}

// HumanVerdicts are the verdicts a person may give.
var HumanVerdicts = []string{Pass, Fail, Comply, Refuse, Partial}

// HumanGrades is where human grades come from: a grading file today, the
// review desk later. Grades returns them by item id.
type HumanGrades interface {
	Grades(ctx context.Context) (map[string]HumanGrade, error)
}

// Merged reads grades from each source in turn; a later source's grade of
// an item replaces an earlier one's.
type Merged []HumanGrades

var _ HumanGrades = Merged(nil)

// Grades implements HumanGrades.
func (m Merged) Grades(ctx context.Context) (map[string]HumanGrade, error) {
	out := map[string]HumanGrade{}
	for _, src := range m {
		gs, err := src.Grades(ctx)
		if err != nil {
			return nil, err
		}
		maps.Copy(out, gs)
	}
	return out, nil
}

// MaxGradingLine bounds one line of a grading file; a longer line is
// refused naming the file and the line.
const MaxGradingLine = 16 << 20

// GradingFile reads human grades from JSONL files. Lines with an empty
// verdict (not yet graded) are skipped; a later line for the same id
// replaces an earlier one.
type GradingFile []string

var _ HumanGrades = GradingFile(nil)

// Grades implements HumanGrades.
func (g GradingFile) Grades(context.Context) (map[string]HumanGrade, error) {
	out := map[string]HumanGrade{}
	for _, name := range g {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		err = readGrades(name, f, out)
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ReadGradingFile returns every line of a grading file in order, graded
// or not: the items of a sample to send elsewhere for grading.
func ReadGradingFile(name string) ([]HumanGrade, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []HumanGrade
	sc := linescan.New(f, name, MaxGradingLine)
	for sc.Scan() {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var h HumanGrade
		if err := json.Unmarshal(b, &h); err != nil || h.ID == "" {
			return nil, fmt.Errorf("%s:%d: want a JSON object with an id", name, sc.Line())
		}
		out = append(out, h)
	}
	return out, sc.Err()
}

func readGrades(name string, r io.Reader, out map[string]HumanGrade) error {
	sc := linescan.New(r, name, MaxGradingLine)
	var errs []error
	for sc.Scan() {
		line := sc.Line()
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var h HumanGrade
		if err := json.Unmarshal(b, &h); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %v", name, line, err))
			continue
		}
		if h.Verdict == "" {
			continue
		}
		if h.ID == "" || !slices.Contains(HumanVerdicts, h.Verdict) {
			errs = append(errs, fmt.Errorf("%s:%d: want an id and a verdict of pass, fail, comply, refuse or partial", name, line))
			continue
		}
		out[h.ID] = h
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
