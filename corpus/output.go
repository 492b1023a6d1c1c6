package corpus

import (
	"bufio"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// OutputName is the cleaned shard's path for an input shard: the same
// relative path, as JSONL, with the output compression's suffix.
func OutputName(rel, compression string) string {
	base := strings.TrimSuffix(strings.TrimSuffix(rel, ".gz"), ".zst")
	base = strings.TrimSuffix(base, filepath.Ext(base)) + ".jsonl"
	switch compression {
	case "zstd":
		return base + ".zst"
	case "gzip":
		return base + ".gz"
	}
	return base
}

// shardWriter writes one file, compressed by its name's suffix.
type shardWriter struct {
	f  io.WriteCloser
	z  io.WriteCloser // nil when not compressed
	bw *bufio.Writer
}

// createShard creates name (and its folders) for writing.
func createShard(name string) (io.WriteCloser, error) {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return nil, err
	}
	f, err := os.Create(name)
	if err != nil {
		return nil, err
	}
	return NewShardWriter(name, f)
}

// NewShardWriter writes to f, compressed by name's suffix (.zst, .gz);
// Close finishes the compression and closes f.
func NewShardWriter(name string, f io.WriteCloser) (io.WriteCloser, error) {
	w := &shardWriter{f: f}
	var dst io.Writer = f
	switch {
	case strings.HasSuffix(name, ".zst"):
		// A 1 MiB window: JSONL items are a few KB, so a larger one gains
		// little ratio, and each writer would allocate and clear its history
		// (three writers per shard).
		zw, err := zstd.NewWriter(f, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedFastest),
			zstd.WithWindowSize(1<<20), zstd.WithLowerEncoderMem(true))
		if err != nil {
			f.Close()
			return nil, err
		}
		w.z, dst = zw, zw
	case strings.HasSuffix(name, ".gz"):
		zw, _ := gzip.NewWriterLevel(f, gzip.BestSpeed)
		w.z, dst = zw, zw
	}
	w.bw = bufio.NewWriterSize(dst, 1<<20)
	return w, nil
}

func (w *shardWriter) Write(p []byte) (int, error) { return w.bw.Write(p) }

// Close flushes, finishes the compression and closes the file.
func (w *shardWriter) Close() error {
	err := w.bw.Flush()
	if w.z != nil {
		if zerr := w.z.Close(); err == nil {
			err = zerr
		}
	}
	if ferr := w.f.Close(); err == nil {
		err = ferr
	}
	return err
}
