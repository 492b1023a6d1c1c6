package policy_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/policy"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// testFiles returns the files of testdata/bundle, to be changed by a test.
func testFiles(t testing.TB) map[string][]byte {
	t.Helper()
	b, err := policy.LoadDir(filepath.Join("testdata", "bundle"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, n := range b.Names() {
		c, _ := b.File(n)
		files[n] = bytes.Clone(c)
	}
	return files
}

// bundle makes a bundle from files with edits applied: a value replaces
// the file, an empty value removes it.
func bundle(t testing.TB, files map[string][]byte, edits map[string]string) *policy.Bundle {
	t.Helper()
	files = maps.Clone(files)
	for name, content := range edits {
		if content == "" {
			delete(files, name)
			continue
		}
		files[name] = []byte(content)
	}
	b, err := policy.NewBundle(files)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// replaceIn returns file with old replaced by new, failing if old is
// absent, so an edit that no longer applies does not pass silently.
func replaceIn(t testing.TB, files map[string][]byte, file, old, new string) string {
	t.Helper()
	s := string(files[file])
	if !strings.Contains(s, old) {
		t.Fatalf("%s does not contain %q", file, old)
	}
	return strings.Replace(s, old, new, 1)
}

func compile(t testing.TB, b *policy.Bundle) *policy.Compiled {
	t.Helper()
	c, err := policy.CompileBundle(b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update to accept):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// wantInvalid asserts that b does not compile, with an *InvalidError
// whose text holds each of want.
func wantInvalid(t *testing.T, b *policy.Bundle, want []string) {
	t.Helper()
	_, err := policy.CompileBundle(b)
	var inv *policy.InvalidError
	if !errors.As(err, &inv) {
		t.Fatalf("error %v, want *InvalidError", err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}
