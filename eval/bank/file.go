package bank

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/firebreak/firebreak/internal/linescan"
)

// maxLine bounds one line of a bank file.
const maxLine = 4 << 20

// LineError is a problem with one line of a bank file.
type LineError struct {
	File string
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// File is a bank file as read: its items, in file order, and the SHA-256
// of its bytes, which pins it in a run's manifest.
type File struct {
	Path   string
	SHA256 string
	Items  []Item
}

// Read reads and validates a bank file. Blank lines are skipped. Every
// invalid line is reported, up to 50, with its line number; a duplicate id
// is an error.
func Read(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(path, f)
}

// Parse reads a bank from r; name is used in errors.
func Parse(name string, r io.Reader) (*File, error) {
	h := sha256.New()
	sc := linescan.New(io.TeeReader(r, h), name, maxLine)
	out := &File{Path: name}
	seen := map[string]int{}
	var errs []error
	for sc.Scan() {
		line := sc.Line()
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var it Item
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		err := dec.Decode(&it)
		if err == nil {
			err = it.Validate()
		}
		if err == nil {
			if first, dup := seen[it.ID]; dup {
				err = fmt.Errorf("duplicate id %q (first on line %d)", it.ID, first)
			}
		}
		if err != nil {
			if errs = append(errs, &LineError{File: name, Line: line, Err: err}); len(errs) == 50 {
				break
			}
			continue
		}
		seen[it.ID] = line
		out.Items = append(out.Items, it)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	out.SHA256 = hex.EncodeToString(h.Sum(nil))
	return out, nil
}

// Write writes items as JSONL, one object per line, in the order given.
func Write(w io.Writer, items []Item) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for i := range items {
		if err := enc.Encode(&items[i]); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// WriteFile writes items to path, replacing it only once the whole bank is
// written.
func WriteFile(path string, items []Item) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := Write(f, items); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}
