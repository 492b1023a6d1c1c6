// Package demo is Firebreak's built-in demo responder: an OpenAI-compatible
// handler that answers without a language model, so that a newcomer can try
// the gateway and every safety feature with no model server. Each answer
// starts with Label, says what it received, repeats the start of the latest
// user message (so output moderation has something to act on) and gives a
// tip. Streams come in small chunks so that stream moderation can be seen.
//
// It runs in process: Upstream returns a Config whose transport serves the
// demo:// base URL by calling the handler directly, so no port is opened.
package demo

import (
	"net/http"
	"time"

	"github.com/firebreak/firebreak/upstream"
)

const (
	// ModelName is the model the demo responder serves.
	ModelName = "firebreak-demo"
	// UpstreamName is the name of the demo upstream.
	UpstreamName = "demo"
	// BaseURL is the demo upstream's base URL, served in process.
	BaseURL = "demo://firebreak/v1"
	// Label starts every answer.
	Label = "[Firebreak demo responder — not a language model]"
	// DefaultChunkDelay is the pause between streamed chunks used by
	// Upstream and Transport: slow enough to watch, fast enough not to bore.
	DefaultChunkDelay = 15 * time.Millisecond
)

// Options configures the demo responder.
type Options struct {
	// ChunkDelay is the pause before each streamed content chunk.
	// Default 0: no pause.
	ChunkDelay time.Duration
	// ChunkRunes is the size of a streamed content chunk in characters.
	// Default 6.
	ChunkRunes int
	// EchoRunes is how much of the latest user message the answer repeats.
	// Default 200.
	EchoRunes int
}

func (o Options) withDefaults() Options {
	if o.ChunkRunes <= 0 {
		o.ChunkRunes = 6
	}
	if o.EchoRunes <= 0 {
		o.EchoRunes = 200
	}
	return o
}

// Upstream returns the demo upstream, served in process with
// DefaultChunkDelay.
func Upstream() upstream.Config {
	return upstream.Config{
		Name:      UpstreamName,
		BaseURL:   BaseURL,
		Transport: NewTransport(nil, Options{ChunkDelay: DefaultChunkDelay}),
	}
}

// Model returns the public demo model, served by Upstream.
func Model() upstream.Model {
	return upstream.Model{
		Name:        ModelName,
		Domain:      "general",
		Targets:     []upstream.Target{{Upstream: UpstreamName, Model: ModelName}},
		Description: "Built-in demo responder: not a language model; it describes and repeats what it receives.",
	}
}

// NewHandler returns the demo responder as an HTTP handler serving
// POST /v1/chat/completions, GET /v1/models and POST /v1/embeddings (which
// answers with an error: the demo computes no embeddings).
func NewHandler(opts Options) http.Handler {
	r := &responder{opts: opts.withDefaults()}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", r.chat)
	mux.HandleFunc("GET /v1/models", r.models)
	mux.HandleFunc("POST /v1/embeddings", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusBadRequest, "unsupported_endpoint", "The Firebreak demo responder does not compute embeddings; connect a model server for them.")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "Unknown endpoint of the Firebreak demo responder.")
	})
	return mux
}
