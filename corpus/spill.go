package corpus

import (
	"bufio"
	"bytes"
	"cmp"
	"container/heap"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// The in-process runner keeps its intermediate state in files of a work
// folder so that memory stays bounded and a run can resume: per-item
// results, and fixed-size key records that an external sort groups, the
// local counterpart of the Beam pipeline's group by key.

// appendResult encodes a result for the work file: a length, then the
// fields. The text is kept only for items still kept.
func appendResult(b []byte, r *Result) []byte {
	// The body goes after room for its length's varint, which is then
	// written in place: no buffer per item.
	const room = binary.MaxVarintLen64
	at := len(b)
	b = append(b, make([]byte, room)...)
	b = binary.AppendUvarint(b, r.Item.Ord)
	b = binary.AppendUvarint(b, uint64(r.Bytes))
	flags := uint64(0)
	if r.Harmful {
		flags |= 1
	}
	b = binary.AppendUvarint(b, flags)
	b = appendString(b, r.Item.ID)
	b = appendString(b, r.Item.Source)
	if r.Drop == nil {
		b = appendString(b, r.Item.Text)
	} else {
		b = appendString(b, "")
	}
	b = appendBytes(b, r.Item.Meta)
	b = appendJSON(b, r.Item.Changes)
	b = appendJSON(b, r.Drop)
	b = appendJSON(b, r.Evidence)
	body := len(b) - at - room
	var n [room]byte
	size := binary.PutUvarint(n[:], uint64(body))
	copy(b[at+room-size:], n[:size])
	copy(b[at:], b[at+room-size:])
	return b[:len(b)-(room-size)]
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b []byte, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

func appendJSON(b []byte, v any) []byte {
	if isNil(v) {
		return appendBytes(b, nil) // what json.Marshal's "null" is stored as, without calling it
	}
	j, _ := json.Marshal(v)
	if string(j) == "null" {
		j = nil
	}
	return appendBytes(b, j)
}

// isNil reports a nil interface or a nil value of the types appendResult
// stores.
func isNil(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case []Event:
		return x == nil
	case *Event:
		return x == nil
	case []Finding:
		return x == nil
	}
	return false
}

// EncodeResult encodes a per-item result as bytes, for a runner that
// moves results between workers.
func EncodeResult(r *Result) []byte {
	b := appendResult(nil, r)
	_, n := binary.Uvarint(b)
	return b[n:]
}

// DecodeResult decodes what EncodeResult encoded.
func DecodeResult(b []byte) (Result, error) {
	rr := newResultReader(bytes.NewReader(binary.AppendUvarint(nil, uint64(len(b)))))
	rr.br = bufio.NewReader(io.MultiReader(rr.br, bytes.NewReader(b)))
	return rr.next()
}

// resultReader decodes a work file of results.
type resultReader struct {
	br  *bufio.Reader
	buf []byte
}

func newResultReader(r io.Reader) *resultReader {
	return &resultReader{br: bufio.NewReaderSize(r, 1<<20)}
}

func (rr *resultReader) next() (Result, error) {
	var r Result
	n, err := binary.ReadUvarint(rr.br)
	if err != nil {
		return r, err // io.EOF at the end
	}
	if cap(rr.buf) < int(n) {
		rr.buf = make([]byte, n)
	}
	body := rr.buf[:n]
	if _, err := io.ReadFull(rr.br, body); err != nil {
		return r, fmt.Errorf("work file: %w", io.ErrUnexpectedEOF)
	}
	d := decoder{b: body}
	r.Item.Ord = d.uvarint()
	r.Bytes = int(d.uvarint())
	r.Harmful = d.uvarint()&1 != 0
	r.Item.ID = string(d.bytes())
	r.Item.Source = string(d.bytes())
	r.Item.Text = string(d.bytes())
	if m := d.bytes(); len(m) > 0 {
		r.Item.Meta = append(json.RawMessage(nil), m...)
	}
	d.json(&r.Item.Changes)
	d.json(&r.Drop)
	d.json(&r.Evidence)
	return r, d.err
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err, d.b = errors.New("work file: bad varint"), nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.err, d.b = errors.New("work file: bad length"), nil
		return nil
	}
	p := d.b[:n]
	d.b = d.b[n:]
	return p
}

func (d *decoder) json(v any) {
	if p := d.bytes(); len(p) > 0 && d.err == nil {
		d.err = json.Unmarshal(p, v)
	}
}

// keyRec is one fixed-size record of the key files: a key and the item
// that has it. For the drops file, Kind/Hi hold the drop's kind and DupOf.
type keyRec struct {
	Kind   uint32
	Hi, Lo uint64
	Ord    uint64
}

const (
	keyRecSize = 28 // on disk
	keyRecMem  = 32 // in memory, with padding
)

func (k keyRec) append(b []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, k.Kind)
	b = binary.LittleEndian.AppendUint64(b, k.Hi)
	b = binary.LittleEndian.AppendUint64(b, k.Lo)
	return binary.LittleEndian.AppendUint64(b, k.Ord)
}

func decodeKeyRec(b []byte) keyRec {
	return keyRec{Kind: binary.LittleEndian.Uint32(b), Hi: binary.LittleEndian.Uint64(b[4:]),
		Lo: binary.LittleEndian.Uint64(b[12:]), Ord: binary.LittleEndian.Uint64(b[20:])}
}

func cmpKeyRec(a, b keyRec) int {
	switch {
	case a.Kind != b.Kind:
		return cmp.Compare(uint64(a.Kind), uint64(b.Kind))
	case a.Hi != b.Hi:
		return cmp.Compare(a.Hi, b.Hi)
	case a.Lo != b.Lo:
		return cmp.Compare(a.Lo, b.Lo)
	}
	return cmp.Compare(a.Ord, b.Ord)
}

func cmpByOrd(a, b keyRec) int {
	if a.Ord != b.Ord {
		return cmp.Compare(a.Ord, b.Ord)
	}
	return cmpKeyRec(a, b)
}

// extSort sorts the records of files by cmp with at most mem bytes of
// records in memory: sorted runs written to dir, then merged. It calls
// emit for every record in order.
func extSort(files []string, dir string, mem int, cmp func(a, b keyRec) int, emit func(keyRec) error) error {
	per := max(mem/keyRecMem, 1024)
	// The buffer grows to the budget as records come, so that a small
	// corpus neither allocates nor touches memory for its whole budget.
	buf := make([]keyRec, 0, min(per, 1<<16))
	var runs []string
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		slices.SortFunc(buf, cmp)
		name := filepath.Join(dir, fmt.Sprintf("run-%d", len(runs)))
		if err := writeKeyRecs(name, buf); err != nil {
			return err
		}
		runs = append(runs, name)
		buf = buf[:0]
		return nil
	}
	for _, f := range files {
		err := readKeyRecs(f, func(k keyRec) error {
			if len(buf) == cap(buf) {
				buf = slices.Grow(buf, min(cap(buf), per-cap(buf)))
			}
			buf = append(buf, k)
			if len(buf) == per {
				return flush()
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if len(runs) == 0 { // everything fitted: no merge
		slices.SortFunc(buf, cmp)
		for _, k := range buf {
			if err := emit(k); err != nil {
				return err
			}
		}
		return nil
	}
	if err := flush(); err != nil {
		return err
	}
	buf = nil
	defer func() {
		for _, r := range runs {
			os.Remove(r)
		}
	}()
	return mergeRuns(runs, cmp, emit)
}

func writeKeyRecs(name string, recs []keyRec) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var b [keyRecSize]byte
	for _, k := range recs {
		w.Write(k.append(b[:0]))
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func readKeyRecs(name string, fn func(keyRec) error) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	var b [keyRecSize]byte
	for {
		if _, err := io.ReadFull(br, b[:]); err != nil {
			if err == io.EOF {
				return nil
			}
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := fn(decodeKeyRec(b[:])); err != nil {
			return err
		}
	}
}

type runHead struct {
	k  keyRec
	br *bufio.Reader
	f  *os.File
}

type runHeap struct {
	h   []*runHead
	cmp func(a, b keyRec) int
}

func (h *runHeap) Len() int           { return len(h.h) }
func (h *runHeap) Less(i, j int) bool { return h.cmp(h.h[i].k, h.h[j].k) < 0 }
func (h *runHeap) Swap(i, j int)      { h.h[i], h.h[j] = h.h[j], h.h[i] }
func (h *runHeap) Push(x any)         { h.h = append(h.h, x.(*runHead)) }
func (h *runHeap) Pop() any {
	x := h.h[len(h.h)-1]
	h.h = h.h[:len(h.h)-1]
	return x
}

func (r *runHead) advance() (bool, error) {
	var b [keyRecSize]byte
	if _, err := io.ReadFull(r.br, b[:]); err != nil {
		if err == io.EOF {
			return false, nil
		}
		return false, err
	}
	r.k = decodeKeyRec(b[:])
	return true, nil
}

func mergeRuns(runs []string, cmp func(a, b keyRec) int, emit func(keyRec) error) error {
	h := &runHeap{cmp: cmp}
	defer func() {
		for _, r := range h.h {
			r.f.Close()
		}
	}()
	for _, name := range runs {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		r := &runHead{f: f, br: bufio.NewReaderSize(f, 256<<10)}
		ok, err := r.advance()
		if err != nil {
			f.Close()
			return err
		}
		if !ok {
			f.Close()
			continue
		}
		h.h = append(h.h, r)
	}
	heap.Init(h)
	for h.Len() > 0 {
		top := h.h[0]
		if err := emit(top.k); err != nil {
			return err
		}
		ok, err := top.advance()
		if err != nil {
			return err
		}
		if ok {
			heap.Fix(h, 0)
		} else {
			top.f.Close()
			heap.Pop(h)
		}
	}
	return nil
}
