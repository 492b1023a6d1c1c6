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
// before (/Prev), one whose object stream extends itself, a 126 KB file
// whose page content inflates to 84 MiB, a 175 KB one whose font's
// ToUnicode map inflates to 88 MiB and a 15 KB one whose 400 pages sit
// in an object stream padded to 8 MB (the reader inflates it again for
// every object: 6 s of a core before the bound). Each is refused as the client's
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
		{"objstmbig.pdf", "object stream 5 of the PDF decompresses to more than 2 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) { refusedSaying(t, tt.file, tt.want) })
	}
}

// refusedSaying extracts a file of testdata/hostile as a PDF and wants a
// client error saying want within 30 s.
func refusedSaying(t *testing.T, file, want string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "hostile", file))
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
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want a client error saying %q", err, want)
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
		if got := objStmLoop(objStreams([]byte(tt.doc))); got != tt.loop {
			t.Errorf("objStmLoop(%q) = %v", tt.doc, got)
		}
	}
}

// TestPDFReadTimeBound: a 82 KB PDF whose 5,000 pages sit in one object
// stream padded to just under its bound, so that the reader inflates
// 1.4 MB again for every page it looks up (minutes of a core), is refused
// once reading it takes longer than its time (shortened here), as the
// client's error naming the limit.
func TestPDFReadTimeBound(t *testing.T) {
	defer func(d time.Duration) { pdfReadTime = d }(pdfReadTime)
	pdfReadTime = time.Second
	start := time.Now()
	refusedSaying(t, "objstmslow.pdf", "reading the PDF took more than 1s")
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("refused after %v, want soon after the 1 s limit", took)
	}
}
