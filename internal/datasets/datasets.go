// Package datasets finds the public safety datasets that tests and
// measurements read (XSTest, Flames, CValues, SafetyBench). They are not
// part of the repository: they live in a folder named shared/data beside
// a checkout (or above it), or where FIREBREAK_DATASETS points.
package datasets

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the datasets folder. FIREBREAK_DATASETS=off skips the test;
// a folder that cannot be found fails it.
func Dir(t testing.TB) string {
	t.Helper()
	switch env := os.Getenv("FIREBREAK_DATASETS"); env {
	case "off":
		t.Skip("FIREBREAK_DATASETS=off")
	case "":
	default:
		return env
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		cand := filepath.Join(dir, "shared", "data")
		if _, err := os.Stat(filepath.Join(cand, "xstest", "xstest_prompts.csv")); err == nil {
			return cand
		}
		if filepath.Dir(dir) == dir {
			break
		}
	}
	t.Fatalf("public datasets not found in a shared/data folder above %s: set FIREBREAK_DATASETS to their folder (or to off to skip)", wd)
	return ""
}

// Path returns the path of a file in the datasets folder.
func Path(t testing.TB, elem ...string) string {
	t.Helper()
	return filepath.Join(append([]string{Dir(t)}, elem...)...)
}
