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
// before (/Prev), a 126 KB file whose page content inflates to 84 MiB and a
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
