package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// TestCorpusCleanRefusesBombs runs `corpus clean` on shards an attacker
// could slip into a corpus: a gzip and a zstd shard that inflate a
// thousand times and more. The run stops with an error naming the shard
// and the limit, instead of reading whatever the bomb unfolds into.
func TestCorpusCleanRefusesBombs(t *testing.T) {
	t.Parallel()
	zeros := make([]byte, 1<<20)
	for _, tt := range []struct {
		name string
		w    func(io.Writer) io.WriteCloser
	}{
		{"bomb.jsonl.gz", func(b io.Writer) io.WriteCloser { return gzip.NewWriter(b) }},
		{"bomb.jsonl.zst", func(b io.Writer) io.WriteCloser { w, _ := zstd.NewWriter(b); return w }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(dir, "in")
			os.Mkdir(in, 0o755)
			var b bytes.Buffer
			w := tt.w(&b)
			w.Write([]byte(`{"text":"an ordinary line"}` + "\n"))
			for range 300 {
				w.Write(zeros)
			}
			w.Close()
			os.WriteFile(filepath.Join(in, tt.name), b.Bytes(), 0o600)
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), []string{"corpus", "clean", in, "--out", filepath.Join(dir, "out"), "--quiet"}, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.name) || !strings.Contains(err.Error(), "more than 200 times its compressed size") {
				t.Fatalf("corpus clean of a %d-byte shard that inflates to 300 MiB: %v", b.Len(), err)
			}
		})
	}
}
