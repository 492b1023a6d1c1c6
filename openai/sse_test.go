package openai

import (
	"bytes"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/clienterr"
)

func readAll(t *testing.T, input string, maxLine int) ([]Event, error) {
	t.Helper()
	r := NewEventReader(strings.NewReader(input), maxLine)
	var evs []Event
	for {
		ev, err := r.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return evs, nil
			}
			return evs, err
		}
		ev.Data = bytes.Clone(ev.Data)
		evs = append(evs, ev)
	}
}

func TestEventReader(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		want    []string
		wantErr error
	}{
		{"two events", "data: {\"a\":1}\n\ndata: [DONE]\n\n", []string{`{"a":1}`, "[DONE]"}, nil},
		{"crlf", "data: x\r\n\r\n", []string{"x"}, nil},
		{"no space", "data:x\n\n", []string{"x"}, nil},
		{"multiline", "data: a\ndata: b\n\n", []string{"a\nb"}, nil},
		{"comments and ids", ": keep-alive\nid: 3\nretry: 10\ndata: x\n\n", []string{"x"}, nil},
		{"blank lines only", "\n\n\n", nil, nil},
		{"truncated event", "data: x\n", nil, io.ErrUnexpectedEOF},
		{"truncated line", "data: x", nil, io.ErrUnexpectedEOF},
		{"too long", "data: " + strings.Repeat("x", 100) + "\n\n", nil, ErrEventTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := readAll(t, tt.input, 64)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			var got []string
			for _, e := range evs {
				got = append(got, string(e.Data))
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("events = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEventReaderLongLineWithinLimit(t *testing.T) {
	long := strings.Repeat("y", 40<<10) // longer than the bufio buffer
	evs, err := readAll(t, "data: "+long+"\n\n", 1<<20)
	if err != nil || len(evs) != 1 || string(evs[0].Data) != long {
		t.Fatalf("got %d events, err %v", len(evs), err)
	}
}

func TestEventWriter(t *testing.T) {
	rec := httptest.NewRecorder()
	w := NewEventWriter(rec)
	if err := w.Data([]byte(`{"x":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := w.Error(clienterr.Errorf(clienterr.UpstreamError, "upstream closed the stream")); err != nil {
		t.Fatal(err)
	}
	want := "data: {\"x\":1}\n\ndata: {\"error\":{\"message\":\"upstream closed the stream\",\"type\":\"upstream_error\",\"param\":null,\"code\":\"upstream_error\"}}\n\n"
	if rec.Body.String() != want {
		t.Errorf("body\n got %q\nwant %q", rec.Body.String(), want)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("content type %q", ct)
	}
	if !rec.Flushed {
		t.Error("events were not flushed")
	}
}

func FuzzEventReader(f *testing.F) {
	f.Add("data: x\n\ndata: [DONE]\n\n")
	f.Add("event: e\ndata: a\ndata: b\r\n\r\n:c\n")
	f.Fuzz(func(t *testing.T, input string) {
		r := NewEventReader(strings.NewReader(input), 256)
		for i := 0; i <= len(input); i++ { // each event consumes at least one byte
			ev, err := r.Next()
			if err != nil {
				return
			}
			if len(ev.Data) > len(input) {
				t.Fatalf("event data longer than input")
			}
		}
		t.Fatal("reader did not stop")
	})
}

// TestEventReaderReady: Ready says whether Next can return an event with
// data from what is already read, without waiting for more input.
func TestEventReaderReady(t *testing.T) {
	cases := []struct {
		name, rest string
		want       bool
	}{
		{"nothing more", "", false},
		{"whole event", "data: {\"b\":2}\n\n", true},
		{"whole event, CRLF", "data: x\r\n\r\n", true},
		{"event without its blank line", "data: x\n", false},
		{"half a line", "data: {\"b", false},
		{"comment only", ": keep-alive\n\n", false},
		{"comment, then event", ": keep-alive\n\ndata: y\n\n", true},
		{"named event without data", "event: ping\n\n", false},
		{"field without value", "data\n\n", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := NewEventReader(strings.NewReader("data: {\"a\":1}\n\n"+tc.rest), 0)
			if _, err := r.Next(); err != nil {
				t.Fatal(err)
			}
			if got := r.Ready(); got != tc.want {
				t.Fatalf("Ready() = %v, want %v", got, tc.want)
			}
			if tc.want {
				if _, err := r.Next(); err != nil {
					t.Fatalf("Ready, then Next: %v", err)
				}
			}
		})
	}
}

// TestEventReaderClose: a reader closed with events still buffered gives
// its buffer to the next stream's reader, which reads only its own input.
func TestEventReaderClose(t *testing.T) {
	for range 3 {
		first := NewEventReader(strings.NewReader("data: a\n\ndata: b\n\ndata: c\n\n"), 0)
		if ev, err := first.Next(); err != nil || string(ev.Data) != "a" {
			t.Fatalf("first stream: %q, %v", ev.Data, err)
		}
		first.Close()
		first.Close() // twice is harmless
		second := NewEventReader(strings.NewReader("data: x\n\n"), 0)
		if ev, err := second.Next(); err != nil || string(ev.Data) != "x" {
			t.Fatalf("second stream: %q, %v", ev.Data, err)
		}
		if ev, err := second.Next(); !errors.Is(err, io.EOF) {
			t.Fatalf("second stream after its only event: %q, %v", ev.Data, err)
		}
		second.Close()
	}
}
