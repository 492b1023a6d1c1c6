package demo

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// Transport serves demo:// requests in process with DefaultChunkDelay and
// sends every other request to next (nil: http.DefaultTransport).
func Transport(next http.RoundTripper) http.RoundTripper {
	return NewTransport(next, Options{ChunkDelay: DefaultChunkDelay})
}

// NewTransport is Transport with options.
func NewTransport(next http.RoundTripper, opts Options) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &transport{h: NewHandler(opts), next: next}
}

// transport runs the handler on its own goroutine and hands its output to
// the caller through a pipe, so a stream reaches the reader chunk by chunk
// and a slow reader slows the handler down.
type transport struct {
	h    http.Handler
	next http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "demo" {
		return t.next.RoundTrip(req)
	}
	ctx := req.Context()
	in := req.Clone(ctx)
	if in.Body == nil {
		in.Body = http.NoBody
	}
	pr, pw := io.Pipe()
	w := &pipeResponse{header: http.Header{}, pw: pw, ready: make(chan struct{})}
	stop := context.AfterFunc(ctx, func() { pw.CloseWithError(context.Cause(ctx)) })
	go func() {
		defer func() {
			stop()
			w.WriteHeader(http.StatusOK) // a handler that wrote nothing answered 200
			switch p := recover(); {
			case p != nil:
				pw.CloseWithError(fmt.Errorf("demo responder: panic: %v", p))
			case ctx.Err() != nil: // the handler stopped early: never let that read as a clean end
				pw.CloseWithError(context.Cause(ctx))
			default:
				pw.Close()
			}
		}()
		t.h.ServeHTTP(w, in)
	}()
	select {
	case <-w.ready:
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	return &http.Response{
		Status:     fmt.Sprintf("%d %s", w.status, http.StatusText(w.status)),
		StatusCode: w.status, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: w.sent, Body: pr, ContentLength: -1, Request: req,
	}, nil
}

// pipeResponse is the handler's ResponseWriter: the body goes into a pipe
// whose reader is the response body.
type pipeResponse struct {
	header http.Header
	pw     *io.PipeWriter
	once   sync.Once
	ready  chan struct{} // closed when the status and headers are set
	status int
	sent   http.Header
}

func (w *pipeResponse) Header() http.Header { return w.header }

func (w *pipeResponse) WriteHeader(status int) {
	w.once.Do(func() {
		w.status, w.sent = status, w.header.Clone()
		close(w.ready)
	})
}

func (w *pipeResponse) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.pw.Write(p)
}

// Flush does nothing: every Write already waits for the reader.
func (w *pipeResponse) Flush() {}
