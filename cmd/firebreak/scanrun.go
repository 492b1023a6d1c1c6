package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/firebreak/firebreak/internal/jsonstr"
	"github.com/firebreak/firebreak/safety"
)

// scanner runs `firebreak scan`: a reader cuts the input into batches of
// whole lines, workers review each batch's items and encode their results,
// and the writer puts the batches out in input order.
type scanner struct {
	engine    *safety.Engine
	dir       safety.Direction
	field     string
	workers   int
	items     int
	bytes     int64
	codes     map[string]int
	decisions map[string]int
}

// scanBatchBytes is about how much input one batch holds.
const scanBatchBytes = 256 << 10

// scanBatch is a run of whole lines of one file and, once reviewed, their
// results.
type scanBatch struct {
	seq       int
	file      string // JSON-quoted file name
	firstLine int
	text      string // the lines, each ended by '\n' (the last may not be)
	out       []byte
	items     int
	bytes     int64
	codes     map[string]int
	decisions map[string]int
}

// scanResult is one output line of `firebreak scan` (see appendResult,
// which writes it without reflection).
type scanResult struct {
	File     string       `json:"file"`
	Line     int          `json:"line"`
	Decision string       `json:"decision"`
	Code     string       `json:"code,omitempty"`
	Hits     []safety.Hit `json:"hits"`
	Error    string       `json:"error,omitempty"`
}

func (s *scanner) run(files []string, stdin io.Reader, stdout io.Writer) error {
	work := make(chan *scanBatch, 2*s.workers)
	done := make(chan *scanBatch, 2*s.workers)
	stop := make(chan struct{})
	var readErr error
	go func() {
		defer close(work)
		readErr = s.read(files, stdin, work, stop)
	}()
	var wg sync.WaitGroup
	for range s.workers {
		wg.Go(func() {
			for b := range work {
				s.review(b)
				done <- b
			}
		})
	}
	go func() { wg.Wait(); close(done) }()
	writeErr := s.write(done, stdout)
	if writeErr != nil {
		close(stop)
		for range done { // let the reader and workers finish
		}
	}
	return errors.Join(writeErr, readErr)
}

// read cuts each file into batches of whole lines and sends them to work,
// until stop closes.
func (s *scanner) read(files []string, stdin io.Reader, work chan<- *scanBatch, stop <-chan struct{}) error {
	seq := 0
	for _, name := range files {
		if err := s.readFile(name, stdin, &seq, work, stop); err != nil {
			return err
		}
	}
	return nil
}

func (s *scanner) readFile(name string, stdin io.Reader, seq *int, work chan<- *scanBatch, stop <-chan struct{}) error {
	r := stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	quoted, _ := json.Marshal(name)
	line := 1
	buf := make([]byte, 0, scanBatchBytes)
	for {
		// Read what there is (a pipe gives what has arrived), at least
		// one whole line; the partial line at the end waits for more.
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil && err != io.EOF {
			return fmt.Errorf("%s: %w", name, err)
		}
		cut := len(buf)
		if err == nil {
			cut = bytes.LastIndexByte(buf, '\n') + 1
		}
		if cut > 0 {
			b := &scanBatch{seq: *seq, file: string(quoted), firstLine: line, text: string(buf[:cut])}
			*seq++
			line += strings.Count(b.text, "\n")
			select {
			case work <- b:
			case <-stop:
				return nil
			}
			buf = buf[:copy(buf, buf[cut:])]
		}
		if err == io.EOF {
			return nil
		}
		if len(buf) == cap(buf) { // one line longer than the buffer
			buf = slices.Grow(buf, cap(buf))
		}
	}
}

// review checks every item of b and encodes the results in b.out.
func (s *scanner) review(b *scanBatch) {
	b.codes, b.decisions = map[string]int{}, map[string]int{}
	// a result line without hits is some 80 bytes, about one line of
	// prose: as much room as the input saves growing for most input
	b.out = make([]byte, 0, len(b.text)+64)
	text, line := b.text, b.firstLine
	for len(text) > 0 {
		item := text
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			item, text = text[:i], text[i+1:]
		} else {
			text = ""
		}
		item = strings.TrimSuffix(item, "\r")
		b.out = s.item(b, line, item)
		line++
	}
}

func (s *scanner) item(b *scanBatch, line int, text string) []byte {
	if s.field != "" {
		v, err := jsonField(text, s.field)
		if err != nil {
			b.decisions["error"]++
			return appendResult(b.out, b.file, line, "error", "", nil, err.Error())
		}
		text = v
	}
	b.items++
	b.bytes += int64(len(text))
	d := s.engine.Check(s.dir, text)
	decision := d.Action.String()
	b.decisions[decision]++
	for _, h := range d.Hits {
		b.codes[h.Code]++
	}
	return appendResult(b.out, b.file, line, decision, d.Code, d.Hits, "")
}

// appendResult appends the JSON line of one result, as json.Marshal of a
// scanResult would write it (TestScanResultEncoding holds them equal),
// without reflection: on text dense with hits the output is larger than
// the input, and encoding/json cost more than the review.
func appendResult(dst []byte, quotedFile string, line int, decision, code string, hits []safety.Hit, errText string) []byte {
	dst = append(dst, `{"file":`...)
	dst = append(dst, quotedFile...)
	dst = append(dst, `,"line":`...)
	dst = strconv.AppendInt(dst, int64(line), 10)
	dst = append(dst, `,"decision":`...)
	dst = jsonstr.Append(dst, decision)
	if code != "" {
		dst = append(dst, `,"code":`...)
		dst = jsonstr.Append(dst, code)
	}
	dst = append(dst, `,"hits":[`...)
	for i := range hits {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendHit(dst, &hits[i])
	}
	dst = append(dst, ']')
	if errText != "" {
		dst = append(dst, `,"error":`...)
		dst = jsonstr.Append(dst, errText)
	}
	return append(dst, "}\n"...)
}

// appendHit appends h as json.Marshal does; a score, which only model
// detectors set, goes through encoding/json for its number format.
func appendHit(dst []byte, h *safety.Hit) []byte {
	if h.Score != 0 {
		j, _ := json.Marshal(h) // a plain struct: cannot fail
		return append(dst, j...)
	}
	dst = append(dst, `{"detector":`...)
	dst = jsonstr.Append(dst, h.Detector)
	dst = append(dst, `,"rule":`...)
	dst = jsonstr.Append(dst, h.Rule)
	if h.Term != "" {
		dst = append(dst, `,"term":`...)
		dst = jsonstr.Append(dst, h.Term)
	}
	dst = append(dst, `,"code":`...)
	dst = jsonstr.Append(dst, h.Code)
	dst = append(dst, `,"action":`...)
	dst = jsonstr.Append(dst, h.Action.String())
	dst = append(dst, `,"start":`...)
	dst = strconv.AppendInt(dst, int64(h.Start), 10)
	dst = append(dst, `,"end":`...)
	dst = strconv.AppendInt(dst, int64(h.End), 10)
	return append(dst, '}')
}

// write puts the batches out in input order and adds up their counts.
func (s *scanner) write(done <-chan *scanBatch, stdout io.Writer) error {
	out := bufio.NewWriterSize(stdout, 1<<20)
	waiting := map[int]*scanBatch{}
	next := 0
	for b := range done {
		waiting[b.seq] = b
		for b := waiting[next]; b != nil; b = waiting[next] {
			delete(waiting, next)
			next++
			if _, err := out.Write(b.out); err != nil {
				return err
			}
			s.items += b.items
			s.bytes += b.bytes
			for k, v := range b.codes {
				s.codes[k] += v
			}
			for k, v := range b.decisions {
				s.decisions[k] += v
			}
		}
	}
	return out.Flush()
}

// jsonField returns the string at a dotted path of a JSON object, decoding
// only the objects on the path.
func jsonField(line, path string) (string, error) {
	raw := json.RawMessage(line)
	for i, key := range strings.Split(path, ".") {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
			if i == 0 && !json.Valid(raw) {
				return "", fmt.Errorf("not a JSON line: %v", err)
			}
			return "", fmt.Errorf("field %q: not an object", path)
		}
		v, ok := obj[key]
		if !ok {
			return "", fmt.Errorf("field %q: missing", path)
		}
		raw = v
	}
	var str string
	if err := json.Unmarshal(raw, &str); err != nil {
		return "", fmt.Errorf("field %q: not a string", path)
	}
	return str, nil
}

func (s *scanner) summary(w io.Writer, d time.Duration) {
	fmt.Fprintf(w, "scanned %d items, %.1f MB in %v (%.1f MB/s, %d workers), policy %s\n",
		s.items, float64(s.bytes)/1e6, d.Round(time.Millisecond), float64(s.bytes)/1e6/d.Seconds(), s.workers, s.engine.Version())
	for _, name := range []string{"allow", "mask", "review", "refuse", "block", "error"} {
		if n := s.decisions[name]; n > 0 {
			fmt.Fprintf(w, "  %-8s %d\n", name, n)
		}
	}
	codes := make([]string, 0, len(s.codes))
	for c := range s.codes {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	if len(codes) > 0 {
		fmt.Fprintln(w, "hits by risk code:")
	}
	for _, c := range codes {
		fmt.Fprintf(w, "  %-4s %6d  %s\n", c, s.codes[c], safety.CodeName(c))
	}
}
