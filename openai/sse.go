package openai

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// Event is one server-sent event. Data holds the data lines joined by "\n".
type Event struct {
	Name string
	Data []byte
}

// IsDone reports whether the event is the "[DONE]" sentinel that ends an
// OpenAI stream.
func (e Event) IsDone() bool { return bytes.Equal(e.Data, doneData) }

var doneData = []byte("[DONE]")

// ErrEventTooLarge is returned by EventReader when one line exceeds the
// reader's limit.
var ErrEventTooLarge = errors.New("server-sent event line too large")

// EventReader reads server-sent events (text/event-stream) from an upstream.
type EventReader struct {
	r       *bufio.Reader
	maxLine int
	data    bytes.Buffer
}

// NewEventReader returns a reader that refuses lines longer than maxLine
// bytes (default 1 MiB when maxLine <= 0). Its buffer comes from a pool;
// Close gives it back.
func NewEventReader(r io.Reader, maxLine int) *EventReader {
	if maxLine <= 0 {
		maxLine = 1 << 20
	}
	br := readers.Get().(*bufio.Reader)
	br.Reset(r)
	return &EventReader{r: br, maxLine: maxLine}
}

// readers are EventReaders' 16 KiB buffers, kept between streams: a
// stream of short chunks allocates little else.
var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 16<<10) }}

// Close gives the reader's buffer back for another stream: the last
// event's Data is then no longer valid, and the reader may not be used
// again. It does not close the input.
func (r *EventReader) Close() {
	if r.r == nil {
		return
	}
	r.r.Reset(nil)
	readers.Put(r.r)
	r.r = nil
}

// Next returns the next event with data. It returns io.EOF at a clean end
// of input and io.ErrUnexpectedEOF when the input ends inside an event.
// The returned Data is valid until the next call.
func (r *EventReader) Next() (Event, error) {
	var ev Event
	r.data.Reset()
	hasData := false
	for {
		line, err := r.readLine()
		if err != nil {
			if errors.Is(err, io.EOF) && (hasData || ev.Name != "") {
				return Event{}, io.ErrUnexpectedEOF
			}
			return Event{}, err
		}
		if len(line) == 0 { // blank line: dispatch
			if hasData {
				ev.Data = r.data.Bytes()
				return ev, nil
			}
			ev = Event{}
			continue
		}
		field, value := splitField(line)
		switch field {
		case "data":
			if hasData {
				r.data.WriteByte('\n')
			}
			r.data.Write(value)
			hasData = true
		case "event":
			ev.Name = string(value)
		}
		// "id", "retry" and comments (":…") are ignored.
	}
}

// Ready reports whether the next event with data is already read from the
// input, whole, so that Next will return it without waiting for more
// input. A writer relaying events can leave its output unflushed while
// more is ready and flush once, before Next would wait.
func (r *EventReader) Ready() bool {
	b, _ := r.r.Peek(r.r.Buffered())
	hasData := false
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return false // a line not yet whole
		}
		line := trimEOL(b[:i+1])
		b = b[i+1:]
		switch {
		case len(line) == 0 && hasData:
			return true
		case len(line) > 0:
			if name, _ := splitField(line); name == "data" {
				hasData = true
			}
		}
	}
	return false
}

// splitField splits an event line into its field name and value. Only
// the names read here ("data", "event") are returned; any other is "".
func splitField(line []byte) (string, []byte) {
	if line[0] == ':' {
		return "", nil
	}
	name, value, _ := bytes.Cut(line, []byte(":"))
	value, _ = bytes.CutPrefix(value, []byte(" "))
	return fieldName(name), value
}

func fieldName(name []byte) string {
	switch string(name) { // compared without allocating
	case "data":
		return "data"
	case "event":
		return "event"
	}
	return ""
}

// readLine returns one line without its terminator (\n or \r\n).
func (r *EventReader) readLine() ([]byte, error) {
	var long []byte
	for {
		frag, err := r.r.ReadSlice('\n')
		switch {
		case err == nil:
			if len(long)+len(frag) > r.maxLine {
				return nil, ErrEventTooLarge
			}
			if long == nil {
				return trimEOL(frag), nil
			}
			return trimEOL(append(long, frag...)), nil
		case errors.Is(err, bufio.ErrBufferFull):
			if len(long)+len(frag) > r.maxLine {
				return nil, ErrEventTooLarge
			}
			long = append(long, frag...)
		case errors.Is(err, io.EOF) && len(frag)+len(long) > 0:
			return nil, io.ErrUnexpectedEOF // a last line without terminator
		default:
			return nil, err
		}
	}
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

// EventWriter writes server-sent events to a client and flushes each one.
type EventWriter struct {
	w   io.Writer
	rc  *http.ResponseController
	buf []byte
}

// NewEventWriter sets the stream headers on w and returns a writer for it.
// Nothing is sent until the first event.
func NewEventWriter(w http.ResponseWriter) *EventWriter {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	return &EventWriter{w: w, rc: http.NewResponseController(w)}
}

// Data writes one "data:" event and flushes it to the client. data must
// not contain newlines (JSON produced by encoding/json does not).
func (e *EventWriter) Data(data []byte) error {
	if err := e.Queue(data); err != nil {
		return err
	}
	return e.Flush()
}

// Queue writes one "data:" event without flushing: it reaches the client
// with the next Flush (or when the response's buffer fills).
func (e *EventWriter) Queue(data []byte) error {
	e.buf = append(e.buf[:0], "data: "...)
	e.buf = append(e.buf, data...)
	e.buf = append(e.buf, "\n\n"...)
	_, err := e.w.Write(e.buf)
	return err
}

// Flush sends what was queued.
func (e *EventWriter) Flush() error { return e.rc.Flush() }

// JSON writes v as one data event.
func (e *EventWriter) JSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	return e.Data(b)
}

// Done writes the "[DONE]" sentinel that ends a successful stream.
func (e *EventWriter) Done() error { return e.Data(doneData) }

// Error ends a failed stream with an OpenAI-shaped error event. The
// official SDKs raise it as an error; no "[DONE]" follows, so no client can
// mistake a failed stream for a complete one.
func (e *EventWriter) Error(err error) error { return e.JSON(Body(err)) }
