// Package gateway is Firebreak's OpenAI-compatible HTTP surface and its
// request pipeline. A chat completion goes through, in order:
//
//	authenticate → end user → route (1+N) → allowed model → limits →
//	input review → upstream → output review (incremental on streams) → client
//
// Each step is a short function in this package over a service from another
// package (account, limit, upstream, safety); the gateway owns only the
// order, the wire format and the metrics.
package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/identity"
	"github.com/firebreak/firebreak/label"
	"github.com/firebreak/firebreak/limit"
	"github.com/firebreak/firebreak/openai"
	"github.com/firebreak/firebreak/safety"
	"github.com/firebreak/firebreak/sanction"
	"github.com/firebreak/firebreak/upstream"
)

// Options configure a Gateway. Accounts, Router and Engine are required.
type Options struct {
	Accounts *account.Service
	// Limiter enforces per-key and per-user limits. Default: an in-memory
	// limiter with no store behind its quotas.
	Limiter *limit.Limiter
	// Router returns the current model router; it may change between
	// requests when upstreams or routes are edited.
	Router func() *upstream.Router
	// Policies picks the safety engine of each request; a request keeps
	// the engine it started with, whatever is published meanwhile.
	Policies Policies
	// Sanctions applies blacklists, graded sanctions and strikes to end
	// users. Default nil: none.
	Sanctions *sanction.Service
	// ClientIPHeader, when set, names the header a trusted proxy fills with
	// the client's address (X-Forwarded-For, X-Real-IP), read as package
	// clientip reads it (the last address, the one the proxy wrote);
	// otherwise the peer address is the client's. Default "".
	ClientIPHeader string
	// Recorder keeps an audit record of every authenticated request.
	// Default nil: none.
	Recorder Recorder
	// Identity, when set, enforces real-name requirements and minors' mode
	// and serves the verification flows under /v1/identity/.
	Identity *identity.Service
	// Tokens, when set, verifies identity tokens in X-Firebreak-User-Token.
	Tokens *identity.TokenVerifier
	// Guard, when set, is a guard model that reviews each input beside the
	// upstream call; its verdict is awaited before any answer is released.
	Guard GuardModel
	// Labels, when set, labels every chat answer (package label): the
	// explicit label of the policy in force for its route, tenant and
	// minors' mode in the text, and the signed AIGC object in the AIGC
	// header and member. Default nil: answers are not labelled.
	Labels Labels
	// LabelSigner signs the implicit labels; Firebreak uses the audit
	// signing key. Default nil: labels are unsigned.
	LabelSigner *label.Signer
	// Grounding, when set, grounds the answers of grounded routes in
	// their knowledge bases and checks their support (package kb).
	// Default nil: no route is grounded.
	Grounding Grounding
	// Judge, when set, is a judge model asked, after generation, which
	// sentences of a grounded answer its passages do not support (package
	// kb/judge); a sentence is flagged when it or the lexical check flags
	// it. Default nil: the lexical check alone.
	Judge SupportJudge
	// Complaints, when set, takes complaints at /v1/complaints.
	Complaints *audit.Complaints
	// Appeals, when set, takes end users' appeals against their sanctions
	// at /v1/appeals (the review desk).
	Appeals Appeals
	// UserHeader names the end user when the body's "user" field is empty;
	// when both are set they must agree.
	// Default X-Firebreak-User.
	UserHeader string
	// MaxBodyBytes caps a request body. Default 8 MiB.
	MaxBodyBytes int64
	// MaxStream bounds how long one streamed answer may run; a stream that
	// reaches it ends with an error event. Default 10 minutes.
	MaxStream time.Duration
	// WriteTimeout bounds a non-stream answer (chat or embeddings) from
	// the request to its last byte written: past it the model call is
	// cancelled and the client gets upstream_timeout, and a client that
	// reads the answer too slowly is cut off. Streams are bounded by
	// MaxStream instead. Default 10 minutes.
	WriteTimeout time.Duration
	// MaxAnswerBytes caps the content of one answer, streamed or not; an
	// answer past it ends with answer_too_large. Default 32 MiB.
	MaxAnswerBytes int64
	// AnswerBudget bounds the memory, in bytes, that answers in flight
	// take for review, labels and the audit record, all requests
	// together; a new request waits up to BudgetWait for room, then gets
	// a 503 (gateway_overloaded). Negative: unbounded. Default 512 MiB.
	AnswerBudget int64
	// BudgetWait is how long a new request waits for room in the answer
	// budget. Default 2s.
	BudgetWait time.Duration
	// Logger receives one line per request, never with prompt or answer text.
	// Default: discard.
	Logger *slog.Logger
	// Registerer receives the gateway's metrics. Default: a private registry.
	Registerer prometheus.Registerer
	// Tracer, when set, traces every API request: a root span and one span
	// per pipeline stage (package tracing exports them). Default nil: off.
	Tracer trace.Tracer
}

// Policies picks the safety engine for a request: the policy overlay of
// its route (public model) and tenant, and minors' mode (package policy).
type Policies interface {
	Engine(route, tenant string, minor bool) *safety.Engine
}

// Gateway serves the /v1 API.
type Gateway struct {
	accounts     *account.Service
	limiter      *limit.Limiter
	router       func() *upstream.Router
	policies     Policies
	labels       Labels
	signer       *label.Signer
	sanctions    *sanction.Service
	recorder     Recorder
	complaints   *audit.Complaints
	appeals      Appeals
	identity     *identity.Service
	tokens       *identity.TokenVerifier
	guard        GuardModel
	grounding    Grounding
	judge        SupportJudge
	ipHeader     string
	userHeader   string
	maxBody      int64
	maxStream    time.Duration
	writeTimeout time.Duration
	maxAnswer    int64
	budget       *answerBudget
	guardDown    atomic.Bool // the guard model's last call failed
	log          *slog.Logger
	metrics      *metrics
	tracer       trace.Tracer
	mux          *http.ServeMux
}

// New validates opts and returns a gateway.
func New(opts Options) (*Gateway, error) {
	if opts.Accounts == nil || opts.Router == nil || opts.Policies == nil {
		return nil, errors.New("gateway: Accounts, Router and Policies are required")
	}
	if opts.Tokens != nil && opts.Identity == nil {
		return nil, errors.New("gateway: Tokens need Identity")
	}
	if opts.Limiter == nil {
		l, err := limit.New(limit.Options{})
		if err != nil {
			return nil, err
		}
		opts.Limiter = l
	}
	if opts.UserHeader == "" {
		opts.UserHeader = "X-Firebreak-User"
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 8 << 20
	}
	if opts.MaxStream <= 0 {
		opts.MaxStream = 10 * time.Minute
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 10 * time.Minute
	}
	if opts.MaxAnswerBytes <= 0 {
		opts.MaxAnswerBytes = 32 << 20
	}
	if opts.AnswerBudget == 0 {
		opts.AnswerBudget = 512 << 20
	}
	if opts.BudgetWait <= 0 {
		opts.BudgetWait = 2 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registerer == nil {
		opts.Registerer = prometheus.NewRegistry()
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	g := &Gateway{
		accounts: opts.Accounts, limiter: opts.Limiter, router: opts.Router,
		policies: opts.Policies, labels: opts.Labels, signer: opts.LabelSigner, sanctions: opts.Sanctions, recorder: opts.Recorder, complaints: opts.Complaints, appeals: opts.Appeals,
		identity: opts.Identity, tokens: opts.Tokens, guard: opts.Guard, grounding: opts.Grounding, judge: opts.Judge, ipHeader: opts.ClientIPHeader, userHeader: opts.UserHeader,
		maxBody: opts.MaxBodyBytes, maxStream: opts.MaxStream, writeTimeout: opts.WriteTimeout, maxAnswer: opts.MaxAnswerBytes, log: opts.Logger, metrics: m,
		budget: newAnswerBudget(opts.AnswerBudget, opts.BudgetWait, m), tracer: opts.Tracer,
	}
	g.routes()
	return g, nil
}

// Observer returns the hooks the upstream router reports to, so upstream
// attempts and ejections show in the gateway's metrics.
func (g *Gateway) Observer() upstream.Observer { return g.metrics }

func (g *Gateway) routes() {
	mux := http.NewServeMux()
	mux.Handle("POST /v1/chat/completions", g.api("chat", g.chatCompletions))
	mux.Handle("POST /v1/embeddings", g.api("embeddings", g.embeddings))
	mux.Handle("GET /v1/models", g.api("models", g.listModels))
	mux.Handle("GET /v1/models/{model}", g.api("models", g.getModel))
	if g.identity != nil {
		g.identityRoutes(mux)
	}
	if g.complaints != nil {
		mux.Handle("POST /v1/complaints", g.api("complaints", g.fileComplaint))
		mux.Handle("GET /v1/complaints/{id}", g.api("complaints", g.getComplaint))
	}
	if g.appeals != nil {
		mux.Handle("POST /v1/appeals", g.api("appeals", g.fileAppeal))
		mux.Handle("GET /v1/appeals/{id}", g.api("appeals", g.getAppeal))
	}
	mux.Handle("/v1/", g.api("unknown", func(w http.ResponseWriter, r *http.Request) {
		openai.WriteError(w, clienterr.Errorf(clienterr.NotFound, "unknown endpoint %s %s", r.Method, r.URL.Path))
	}))
	g.mux = mux
}

// ServeHTTP serves the /v1 API.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) { g.mux.ServeHTTP(w, r) }

// bound applies WriteTimeout to a non-stream answer: the returned context
// ends at the deadline; writing to the client may go on for writeGrace
// past it, so that the client still reads the error that says why.
func (g *Gateway) bound(ctx context.Context, w http.ResponseWriter) (context.Context, context.CancelFunc) {
	deadline := time.Now().Add(g.writeTimeout)
	// Not every ResponseWriter supports deadlines (tests' recorders); the
	// context still bounds the model call.
	_ = http.NewResponseController(w).SetWriteDeadline(deadline.Add(writeGrace))
	return context.WithDeadline(ctx, deadline)
}

// writeGrace is how long past WriteTimeout an answer or its error may
// still be written.
const writeGrace = 5 * time.Second
