package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/eval/grade"
)

// TestOverlongLinesNamed hands the CLI a bank and a grading file each
// with one line longer than its limit: the error names the file, the line
// and the limit (it used to say only bufio's "token too long").
func TestOverlongLinesNamed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bankFile := filepath.Join(dir, "bank.jsonl")
	os.WriteFile(bankFile, []byte(`{"id":"a"}`+"\n"+strings.Repeat("x", 5<<20)+"\n"), 0o600)
	_, err := runCLI(t, "bank", "lint", bankFile)
	if err == nil || !strings.Contains(err.Error(), bankFile+":2: line longer than 4194304 bytes") {
		t.Errorf("bank lint: %v", err)
	}
	grading := filepath.Join(dir, "grading.jsonl")
	os.WriteFile(grading, []byte(`{"id":"a","verdict":"pass"}`+"\n\n"+strings.Repeat("y", grade.MaxGradingLine+1)+"\n"), 0o600)
	if _, err := (grade.GradingFile{grading}).Grades(t.Context()); err == nil || !strings.Contains(err.Error(), grading+":3: line longer than 16777216 bytes") {
		t.Errorf("grading file: %v", err)
	}
	if _, err := grade.ReadGradingFile(grading); err == nil || !strings.Contains(err.Error(), grading+":3: line longer") {
		t.Errorf("grading file read whole: %v", err)
	}
}
