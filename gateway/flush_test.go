package gateway

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// flushRecorder is a ResponseWriter that keeps what each Flush sent.
type flushRecorder struct {
	h       http.Header
	mu      sync.Mutex
	pending strings.Builder
	flushes []string
	flushed chan int // the number of flushes so far, after each
}

func newFlushRecorder() *flushRecorder {
	return &flushRecorder{h: http.Header{}, flushed: make(chan int, 1024)}
}

func (f *flushRecorder) Header() http.Header { return f.h }
func (f *flushRecorder) WriteHeader(int)     {}

func (f *flushRecorder) Write(b []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pending.Write(b)
}

func (f *flushRecorder) Flush() {
	f.mu.Lock()
	f.flushes = append(f.flushes, f.pending.String())
	f.pending.Reset()
	n := len(f.flushes)
	f.mu.Unlock()
	f.flushed <- n
}

// flushEvents are an upstream's stream of n content deltas, a finishing
// chunk and "[DONE]", one event each.
func flushEvents(n int) []string {
	var evs []string
	for i := range n {
		evs = append(evs, fmt.Sprintf("data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"w%02d \"},\"finish_reason\":null}]}\n\n", i))
	}
	evs = append(evs, "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
		"data: [DONE]\n\n")
	return evs
}

// TestStreamFlushes holds the stream relay to one write to the client for
// what the upstream sent together, without delaying anything: a burst
// leaves in the first chunk's flush (time to first byte) and one more; a
// stream whose upstream sends its next event only once the client has the
// last one (as a model generating tokens does, at any pace) is delivered
// event by event — if the gateway held an event back waiting for more, it
// would never get more.
func TestStreamFlushes(t *testing.T) {
	const deltas = 50
	const streamReq = `{"model":"general","messages":[{"role":"user","content":"hello"}],"stream":true}`
	for _, labelled := range []bool{false, true} {
		name := map[bool]string{false: "unlabelled", true: "labelled"}[labelled]
		t.Run("burst/"+name, func(t *testing.T) {
			g, e := relayGateway(t)
			rl := benchRelay(t, g, e, streamReq, labelled)
			w := newFlushRecorder()
			rl.stream(context.Background(), w, strings.NewReader(strings.Join(flushEvents(deltas), "")))
			if rl.c.outcome != "" {
				t.Fatalf("outcome %q", rl.c.outcome)
			}
			if len(w.flushes) != 2 {
				t.Fatalf("%d flushes for a burst of %d events, want 2 (the first chunk, then the rest)", len(w.flushes), deltas+2)
			}
			if !strings.Contains(w.flushes[0], `"content":"`) || strings.Count(w.flushes[0], "data: ") != 1 {
				t.Errorf("first flush is not the first chunk alone: %q", w.flushes[0])
			}
			if !strings.HasSuffix(w.flushes[1], "data: [DONE]\n\n") || !strings.Contains(w.flushes[1], "w49") {
				t.Errorf("second flush does not carry the rest of the answer and its end: %q", w.flushes[1])
			}
		})
		t.Run("paced/"+name, func(t *testing.T) {
			g, e := relayGateway(t)
			rl := benchRelay(t, g, e, streamReq, labelled)
			w := newFlushRecorder()
			pr, pw := io.Pipe()
			sent := make(chan error, 1)
			go func() {
				evs := flushEvents(deltas)
				for i, ev := range evs[:deltas] {
					if _, err := io.WriteString(pw, ev); err != nil {
						sent <- err
						return
					}
					select { // a guard against a hang, not a timing: the event must be flushed before the next is sent
					case n := <-w.flushed:
						if n != i+1 {
							sent <- fmt.Errorf("event %d: %d flushes", i, n)
							return
						}
					case <-time.After(10 * time.Second):
						sent <- fmt.Errorf("event %d was not flushed to the client before the next was sent", i)
						pw.CloseWithError(io.ErrUnexpectedEOF)
						return
					}
				}
				_, err := io.WriteString(pw, strings.Join(evs[deltas:], ""))
				pw.Close()
				sent <- err
			}()
			rl.stream(context.Background(), w, pr)
			if err := <-sent; err != nil {
				t.Fatal(err)
			}
			if rl.c.outcome != "" {
				t.Fatalf("outcome %q", rl.c.outcome)
			}
			for i, f := range w.flushes[:deltas] {
				if strings.Count(f, "data: ") != 1 {
					t.Errorf("flush %d holds %d events, want 1: %q", i, strings.Count(f, "data: "), f)
				}
			}
			text := strings.Join(w.flushes, "")
			for i := range deltas {
				if !strings.Contains(text, fmt.Sprintf("w%02d", i)) {
					t.Fatalf("delta %d missing from the answer", i)
				}
			}
		})
	}
}
