package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestKBAddHostilePDFs sends small PDFs built to unfold (kb/testdata/
// hostile) to a real server with `kb add`: each is refused naming the
// file and the bound it crossed, and the server goes on serving, where a
// page tree that contained itself used to hold a server core forever.
func TestKBAddHostilePDFs(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--data", t.TempDir())
	s.mustCLI(t, "kb", "add", "docs", filepath.Join("..", "..", "kb", "testdata", "corpus", "hypertension.html"))
	for _, tt := range []struct{ file, want string }{
		{"pagecycle.pdf", "more than 64 levels deep"},
		{"pagecount.pdf", "holds no text"},
		{"pageparent.pdf", "chain of parents more than 64 long"},
		{"xrefloop.pdf", "in a loop"},
		{"objstmloop.pdf", "in a loop"},
		{"flatebomb.pdf", "decompress to more than 64 MiB"},
		{"objstmbig.pdf", "object stream 5 of the PDF decompresses to more than 2 MiB"},
	} {
		start := time.Now()
		out, err := s.cli(t, "kb", "add", "docs", filepath.Join("..", "..", "kb", "testdata", "hostile", tt.file))
		if err == nil || !strings.Contains(err.Error(), tt.file) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v\n%s", tt.file, err, out)
		}
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("%s: refused after %v", tt.file, d)
		}
	}
	// A sparse terabyte file is refused before it is read.
	huge := filepath.Join(t.TempDir(), "huge.md")
	if f, err := os.Create(huge); err == nil {
		f.Truncate(1 << 40)
		f.Close()
	}
	if out, err := s.cli(t, "kb", "add", "docs", huge); err == nil || !strings.Contains(err.Error(), "huge.md: larger than 32 MiB") {
		t.Errorf("a terabyte file: %v\n%s", err, out)
	}
	if out := s.mustCLI(t, "kb", "search", "docs", "salt"); !strings.Contains(out, "hypertension.html") {
		t.Fatalf("kb search after the hostile files:\n%s", out)
	}
}
