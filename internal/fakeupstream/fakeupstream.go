// Package fakeupstream is a scripted OpenAI-compatible model server for tests
// and benchmark programs. It is a real HTTP server on 127.0.0.1 that answers
// chat completions (JSON and SSE), embeddings and the model list, and can be
// told per request to be slow, fail with an OpenAI error, stall, or die in the
// middle of a stream. It records every request so tests can assert on what
// the gateway actually sent.
package fakeupstream

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// DefaultText is the answer given when nothing else is scripted.
const DefaultText = "This is a scripted answer from the fake upstream."

// Options configures a Server. The zero value serves DefaultText to every
// request.
type Options struct {
	// Script, when set, decides the reply to every POST request and wins over
	// Replies. It runs on the server's goroutine and must be safe for
	// concurrent use.
	Script func(req Request) Reply
	// Replies is a queue consumed one per POST request, in order. When it is
	// empty, Default is used.
	Replies []Reply
	// Default is the reply when Script is nil and Replies is exhausted.
	// Zero value: DefaultText, split into words.
	Default Reply
	// Models is the list served by GET /v1/models. Default: ["fake-model"].
	Models []string
	// Listener, when set, is where the server listens; it is closed with
	// the server. Default: 127.0.0.1 on a free port.
	Listener net.Listener
	// Forget keeps no copy of the requests (Requests returns none), for
	// long runs such as a soak. Default false.
	Forget bool
}

// Server is a running fake upstream. Its methods are safe for concurrent use.
type Server struct {
	// URL is the OpenAI base URL, including "/v1", e.g. http://127.0.0.1:41234/v1.
	URL string

	srv    *httptest.Server
	script func(req Request) Reply
	models []string
	forget bool

	mu       sync.Mutex
	queue    []Reply
	def      Reply
	requests []Request
	seq      int
}

// Request is one request the server received.
type Request struct {
	Seq    int         // 1-based arrival order
	Method string      // "POST"
	Path   string      // "/v1/chat/completions"
	Header http.Header // as received
	Body   []byte      // raw body, exactly as received

	// Decoded from the body where it is JSON; zero otherwise.
	Model        string
	Stream       bool
	IncludeUsage bool                       // stream_options.include_usage
	Messages     []Message                  // chat requests only
	Fields       map[string]json.RawMessage // every top-level field
}

// Message is one chat message as received. Content holds the text of a string
// content or the concatenated text parts of an array content.
type Message struct {
	Role    string
	Content string
}

// New starts a server on 127.0.0.1. Close it when done (tests: t.Cleanup(s.Close)).
func New(opts Options) *Server {
	s := &Server{
		script: opts.Script,
		models: opts.Models,
		queue:  append([]Reply(nil), opts.Replies...),
		def:    opts.Default,
		forget: opts.Forget,
	}
	if len(s.models) == 0 {
		s.models = []string{"fake-model"}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.chat)
	mux.HandleFunc("POST /v1/embeddings", s.embeddings)
	mux.HandleFunc("GET /v1/models", s.listModels)
	s.srv = httptest.NewUnstartedServer(mux)
	if opts.Listener != nil {
		s.srv.Listener.Close()
		s.srv.Listener = opts.Listener
	}
	s.srv.Start()
	s.URL = s.srv.URL + "/v1"
	return s
}

// Close stops the server and closes every open connection, so that stalled
// handlers return.
func (s *Server) Close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// Requests returns a copy of the requests received so far, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Push appends replies to the queue.
func (s *Server) Push(replies ...Reply) {
	s.mu.Lock()
	s.queue = append(s.queue, replies...)
	s.mu.Unlock()
}

// record stores req and returns the reply scripted for it.
func (s *Server) record(req Request) (Request, Reply) {
	s.mu.Lock()
	s.seq++
	req.Seq = s.seq
	if !s.forget {
		s.requests = append(s.requests, req)
	}
	var rep Reply
	switch {
	case s.script != nil:
	case len(s.queue) > 0:
		rep = s.queue[0]
		s.queue = s.queue[1:]
	default:
		rep = s.def
	}
	s.mu.Unlock()
	if s.script != nil {
		rep = s.script(req)
	}
	return req, rep
}

func (s *Server) listModels(w http.ResponseWriter, r *http.Request) {
	type model struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		OwnedBy string `json:"owned_by"`
	}
	list := struct {
		Object string  `json:"object"`
		Data   []model `json:"data"`
	}{Object: "list"}
	for _, m := range s.models {
		list.Data = append(list.Data, model{ID: m, Object: "model", Created: created, OwnedBy: "fakeupstream"})
	}
	writeJSON(w, http.StatusOK, list)
}

// pause waits for d or until the client goes away; it reports whether the
// client is still there.
func pause(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return r.Context().Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
