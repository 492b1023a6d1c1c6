package grade_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/firebreak/firebreak/eval/grade"
)

// fixed is a source of grades held in memory.
type fixed map[string]grade.HumanGrade

func (f fixed) Grades(context.Context) (map[string]grade.HumanGrade, error) { return f, nil }

// Grades merge in order: a grading file's ungraded lines are skipped, and
// a later source's grade of an item replaces an earlier one's.
func TestMergedGrades(t *testing.T) {
	file := filepath.Join(t.TempDir(), "grades.jsonl")
	lines := `{"id":"a","verdict":"pass","by":"file"}
{"id":"b","verdict":"fail","by":"file"}
{"id":"c","verdict":""}
`
	if err := os.WriteFile(file, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	desk := fixed{"b": {ID: "b", Verdict: grade.Pass, By: "desk"}, "d": {ID: "d", Verdict: grade.Fail, By: "desk"}}
	got, err := grade.Merged{grade.GradingFile{file}, desk}.Grades(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": "pass file", "b": "pass desk", "d": "fail desk"}
	if len(got) != len(want) {
		t.Fatalf("%d grades, want %d: %+v", len(got), len(want), got)
	}
	for id, w := range want {
		if g := got[id]; g.Verdict+" "+g.By != w {
			t.Errorf("%s: %s %s, want %s", id, g.Verdict, g.By, w)
		}
	}
	all, err := grade.ReadGradingFile(file)
	if err != nil || len(all) != 3 || all[2].ID != "c" {
		t.Fatalf("every line of the file: %+v, %v", all, err)
	}
}
