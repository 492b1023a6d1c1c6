package kb

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/firebreak/firebreak/clienterr"
)

// TestHostilePDFs hands Extract small PDFs built to unfold: a page tree
// that contains itself, one that claims two billion pages, one whose kids
// name the same node twice at every level (2^60 paths), a page that is its
// own parent, one whose cross-reference section names itself as the one
// before (/Prev), one whose object stream extends itself, a 126 KB file whose page content inflates to 84 MiB and a
// 175 KB one whose font's ToUnicode map inflates to 88 MiB. Each is refused as the client's
// error, saying which bound it crossed, in well under a second of work.
func TestHostilePDFs(t *testing.T) {
	tests := []struct{ file, want string }{
		{"pagecycle.pdf", "more than 64 levels deep"},
		{"pagecount.pdf", "holds no text"},
		{"pagediamond.pdf", "more than 20000 nodes"},
		{"flatebomb.pdf", "decompress to more than 64 MiB"},
		{"pageparent.pdf", "chain of parents more than 64 long"},
		{"cmapbomb.pdf", "decompress to more than 64 MiB"},
		{"xrefloop.pdf", "cross-reference sections name each other in a loop"},
		{"objstmloop.pdf", "object streams extend each other in a loop"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "hostile", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				_, err := Extract(FormatPDF, data)
				done <- err
			}()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("Extract still running after 30 s")
			}
			var ce *clienterr.Error
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want a client error saying %q", err, tt.want)
			}
		})
	}
}

func TestObjStmLoop(t *testing.T) {
	stm := func(id, ext string) string {
		if ext != "" {
			ext = " /Extends " + ext + " 0 R"
		}
		return id + " 0 obj\n<< /Type /ObjStm /N 1 /First 4" + ext + " /Length 1 >>\nstream\nx\nendstream\nendobj\n"
	}
	for _, tt := range []struct {
		doc  string
		loop bool
	}{
		{stm("4", "4"), true},
		{stm("4", "5") + stm("5", "6") + stm("6", "4"), true},
		{stm("4", "5") + stm("5", "6") + stm("6", ""), false},
		{stm("4", "6") + stm("5", "6") + stm("6", "7"), false},
		{"4 0 obj\n<< /Extends 4 0 R >>\nendobj\n", false}, // not an object stream
	} {
		if got := objStmLoop([]byte(tt.doc)); got != tt.loop {
			t.Errorf("objStmLoop(%q) = %v", tt.doc, got)
		}
	}
}
