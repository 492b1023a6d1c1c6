package corpus

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// Shard is one input file.
type Shard struct {
	Index  int    `json:"index"`  // position in the sorted shard list
	Path   string `json:"path"`   // as opened
	Rel    string `json:"rel"`    // relative to the input folder, "/" separated
	Source string `json:"source"` // the source by path (a line's source field may override it)
	Format string `json:"format"` // "jsonl" or "text"
}

// shardExts are the file names read, by format; each may end in .gz or .zst.
var shardExts = map[string]string{".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl", ".txt": "text", ".text": "text"}

// shardFormat returns the format of a file name, or "".
func shardFormat(name string) string {
	name = strings.TrimSuffix(strings.TrimSuffix(name, ".gz"), ".zst")
	return shardExts[strings.ToLower(filepath.Ext(name))]
}

// ListShards finds the shards under root (a folder or one file), sorted by
// relative path, and names each one's source.
func ListShards(root string, cfg Config) ([]Shard, error) {
	st, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	var shards []Shard
	if !st.IsDir() {
		f := shardFormat(root)
		if f == "" {
			return nil, fmt.Errorf("%s: not a shard (want .jsonl or .txt, optionally .gz or .zst)", root)
		}
		shards = append(shards, Shard{Path: root, Rel: filepath.Base(root), Format: f})
	} else {
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			if f := shardFormat(d.Name()); f != "" {
				rel, _ := filepath.Rel(root, p)
				shards = append(shards, Shard{Path: p, Rel: filepath.ToSlash(rel), Format: f})
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	slices.SortFunc(shards, func(a, b Shard) int { return strings.Compare(a.Rel, b.Rel) })
	if len(shards) >= 1<<24 {
		return nil, fmt.Errorf("%s: %d shards, at most %d", root, len(shards), 1<<24-1)
	}
	for i := range shards {
		shards[i].Index = i
		shards[i].Source = cfg.sourceOf(shards[i].Rel)
	}
	return shards, nil
}

// MaxDecompressionRatio bounds how far a compressed shard may expand:
// past its first 64 MiB, a shard that has given more than this many bytes
// for every compressed byte read is refused as a decompression bomb. Text
// compresses far less (gzip and zstd give 3 to 10 times on web text); a
// file of zeros gives a thousand times and more.
const MaxDecompressionRatio = 200

// bombSlack is what a compressed shard may give before the ratio applies,
// so that a small, very repetitive shard is read.
const bombSlack = 64 << 20

// Decompress wraps r by the file name's compression suffix (.gz, .zst),
// checking the magic bytes so that a misnamed file fails clearly, and
// bounding the expansion by MaxDecompressionRatio.
func Decompress(name string, r io.Reader) (io.ReadCloser, error) {
	in := &countingReader{r: r}
	switch {
	case strings.HasSuffix(name, ".gz"):
		zr, err := gzip.NewReader(in)
		if err != nil {
			return nil, fmt.Errorf("%s: gzip: %w", name, err)
		}
		return &ratioReader{Reader: zr, Closer: zr, in: in, name: name}, nil
	case strings.HasSuffix(name, ".zst"):
		zr, err := zstd.NewReader(in, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, fmt.Errorf("%s: zstd: %w", name, err)
		}
		rc := zr.IOReadCloser()
		return &ratioReader{Reader: rc, Closer: rc, in: in, name: name}, nil
	}
	return io.NopCloser(r), nil
}

// ratioReader fails a decompressed stream that outgrows its input.
type ratioReader struct {
	io.Reader
	io.Closer
	in   *countingReader
	name string
	out  int64
}

func (r *ratioReader) Read(p []byte) (int, error) {
	n, err := r.Reader.Read(p)
	r.out += int64(n)
	if r.out > bombSlack && r.out > MaxDecompressionRatio*r.in.n {
		return n, fmt.Errorf("%s: decompresses to more than %d times its compressed size, the limit (a decompression bomb?)", r.name, MaxDecompressionRatio)
	}
	return n, err
}

// LineReader reads a shard's lines, without their line ends.
type LineReader struct {
	br   *bufio.Reader
	max  int
	line int64
	buf  []byte
}

// NewLineReader reads lines of at most max bytes from r.
func NewLineReader(r io.Reader, max int) *LineReader {
	return &LineReader{br: bufio.NewReaderSize(r, 1<<20), max: max}
}

// errLineTooLong marks a line longer than the limit; Next skips its rest.
var errLineTooLong = errors.New("line too long")

// Next returns the next line and its number (from 1); the bytes are valid
// until the next call. A line over the limit comes back empty with
// errLineTooLong; io.EOF ends the shard.
func (lr *LineReader) Next() ([]byte, int64, error) {
	lr.buf = lr.buf[:0]
	long := false
	for {
		frag, err := lr.br.ReadSlice('\n')
		if !long {
			if len(lr.buf)+len(frag) > lr.max {
				long, lr.buf = true, lr.buf[:0]
			} else {
				lr.buf = append(lr.buf, frag...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err == io.EOF && len(lr.buf) == 0 && !long {
			return nil, lr.line, io.EOF
		}
		if err != nil && err != io.EOF {
			return nil, lr.line, err
		}
		lr.line++
		if long {
			return nil, lr.line, errLineTooLong
		}
		return bytes.TrimSuffix(bytes.TrimSuffix(lr.buf, []byte("\n")), []byte("\r")), lr.line, nil
	}
}

// Line is one read line of a shard.
type Line struct {
	Shard *Shard
	N     int64
	Data  []byte // nil with Err set when the line could not be read
	Err   error
}

// ParseLine turns a line into an item. A line that is not a usable item
// (bad JSON, no text field) returns an Event for the read stage.
func (c *Config) ParseLine(l Line) (Item, *Event) {
	it := Item{Ord: Ord(l.Shard.Index, l.N), ID: fmt.Sprintf("%s:%d", l.Shard.Rel, l.N), Source: l.Shard.Source}
	if l.Err != nil {
		return it, &Event{Stage: StageRead, Rule: "line_too_long"}
	}
	if l.Shard.Format == "text" {
		it.Text = string(l.Data)
		return it, nil
	}
	if len(bytes.TrimSpace(l.Data)) == 0 {
		return it, &Event{Stage: StageRead, Rule: "empty_line"}
	}
	if text, ok := textOnlyLine(l.Data, c.Input.TextField); ok {
		it.Text = text
		return it, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(l.Data, &obj); err != nil {
		return it, &Event{Stage: StageRead, Rule: "bad_json"}
	}
	text, ok := stringField(obj, c.Input.TextField)
	if !ok {
		return it, &Event{Stage: StageRead, Rule: "no_text", Detail: c.Input.TextField}
	}
	it.Text = text
	delete(obj, c.Input.TextField)
	if c.Input.IDField != "" {
		if id, ok := stringField(obj, c.Input.IDField); ok && id != "" {
			it.ID = id
		}
	}
	if c.Input.SourceField != "" {
		if src, ok := stringField(obj, c.Input.SourceField); ok && src != "" {
			it.Source = src
		}
	}
	if len(obj) > 0 {
		it.Meta, _ = json.Marshal(obj) // keys sorted: the same bytes in every runner
	}
	return it, nil
}

func stringField(obj map[string]json.RawMessage, name string) (string, bool) {
	raw, ok := obj[name]
	if !ok {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// ReadShard calls fn for each line of a shard opened with open, starting
// after line skip. fn's Data is only valid during the call.
func ReadShard(s *Shard, r io.Reader, maxLine int, skip int64, fn func(Line) error) error {
	zr, err := Decompress(s.Path, r)
	if err != nil {
		return err
	}
	defer zr.Close()
	lr := NewLineReader(zr, maxLine)
	for {
		data, n, err := lr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil && !errors.Is(err, errLineTooLong) {
			return fmt.Errorf("%s: line %d: %w", s.Rel, n+1, err)
		}
		if n <= skip {
			continue
		}
		if err := fn(Line{Shard: s, N: n, Data: data, Err: err}); err != nil {
			return err
		}
	}
}
