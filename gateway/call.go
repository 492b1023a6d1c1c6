package gateway

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/openai"
	"github.com/firebreak/firebreak/safety"
	"github.com/firebreak/firebreak/sanction"
)

// call is what the gateway knows about one API request as it goes through
// the pipeline. It feeds the request's log line and metrics; it never holds
// prompt or answer text.
type call struct {
	out       statusWriter // the handler's writer: part of the call, one allocation less
	id        string
	clientID  string // the client's own X-Request-Id, if well formed
	endpoint  string
	start     time.Time
	principal *account.Principal
	user      *account.EndUser
	model     string // public model name
	route     string // why this model: direct, tenant, auto:<domain>
	upstream  string
	stream    bool
	input     string // review decision on the input
	output    string // review decision on the output
	code      string // deciding risk code, if any
	policy    string // safety engine version that decided
	tokens    int64
	outcome   string // ok, refused, filtered, upstream_error, client_gone …
	promptLen int
	promptSum string // short hash of the reviewed prompt text
	standing  sanction.Standing
	minor     bool   // minors' mode applies
	sanction  string // sanction a violation in this request imposed

	// For the audit record.
	recordID    string     // assigned up front when the answer is labelled (its ProduceID)
	label       *labelling // the answer's labels; nil when the gateway labels nothing
	committed   bool
	inDecision  safety.Decision
	outDecision safety.Decision
	prompt      string // the text the input review read
	answer      answerText
	usage       openai.Usage
	firstByte   time.Duration

	// The request's trace, when tracing is on (trace.go).
	trace context.Context
	root  trace.Span
}

type callKey struct{}

func callFrom(ctx context.Context) *call {
	c, _ := ctx.Value(callKey{}).(*call)
	if c == nil {
		return &call{}
	}
	return c
}

// statusWriter records the status code and whether anything was written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Flush and deadlines.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// api wraps an endpoint with what every API request gets: a request id,
// authentication, panic recovery, one log line and metrics.
func (g *Gateway) api(endpoint string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &call{id: newRequestID(), clientID: clientRequestID(r), endpoint: endpoint, start: time.Now()}
		sw := &c.out
		sw.ResponseWriter = w
		sw.Header().Set("X-Request-Id", c.id)
		g.startTrace(r.Context(), c)
		g.metrics.inflight.Inc()
		defer func() {
			g.metrics.inflight.Dec()
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				g.log.Error("panic", "request_id", c.id, "panic", p, "stack", string(debug.Stack()))
				if sw.status == 0 {
					openai.WriteError(sw, clienterr.Errorf(clienterr.Internal, "internal error (request %s)", c.id))
				}
				c.outcome = "panic"
			}
			if err := g.commit(r.Context(), c, orStatus(sw.status)); err != nil && sw.status == 0 {
				openai.WriteError(sw, err)
			}
			g.finish(r.Context(), c, sw.status)
			c.endTrace(orStatus(sw.status))
		}()
		span := g.stage(c, spanAuthenticate)
		p, err := g.authenticate(r)
		endStage(span, err)
		if err != nil {
			c.outcome = "unauthenticated"
			openai.WriteError(sw, err)
			return
		}
		c.principal = p
		h(sw, r.WithContext(context.WithValue(r.Context(), callKey{}, c)))
	})
}

func orStatus(s int) int {
	if s == 0 {
		return 499
	}
	return s
}

// authenticate reads the API key from "Authorization: Bearer …" (or the
// "api-key" header some clients send) and looks it up.
func (g *Gateway) authenticate(r *http.Request) (*account.Principal, error) {
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		key = r.Header.Get("Api-Key")
	}
	key = strings.TrimSpace(key)
	if key == "" {
		return nil, clienterr.Errorf(clienterr.InvalidAPIKey, "missing API key: send it as 'Authorization: Bearer <key>'")
	}
	p, err := g.accounts.Authenticate(r.Context(), key)
	switch {
	case errors.Is(err, account.ErrInvalidKey):
		return nil, clienterr.Wrap(clienterr.InvalidAPIKey, err, "invalid API key")
	case err != nil:
		return nil, clienterr.Wrap(clienterr.Unavailable, err, "could not check the API key; try again")
	}
	return p, nil
}

// finish writes the request's log line and records its metrics.
func (g *Gateway) finish(ctx context.Context, c *call, status int) {
	if status == 0 {
		status = 499 // the client went away before anything was written
	}
	d := time.Since(c.start)
	if c.outcome == "" {
		c.outcome = "ok"
		if status >= 400 {
			c.outcome = "error"
		}
	}
	g.metrics.observe(c, status, d)
	attrs := make([]slog.Attr, 0, 20) // on the stack: no growing
	attrs = append(attrs,
		slog.String("request_id", c.id),
		slog.String("endpoint", c.endpoint),
		slog.Int("status", status),
		slog.String("outcome", c.outcome),
		slog.Float64("duration_ms", float64(d.Microseconds())/1000),
	)
	if c.clientID != "" {
		attrs = append(attrs, slog.String("client_request_id", c.clientID))
	}
	if c.principal != nil {
		attrs = append(attrs, slog.String("tenant", c.principal.Tenant.Name), slog.String("key_id", c.principal.Key.ID))
	}
	if c.user != nil {
		attrs = append(attrs, slog.String("end_user", c.user.ID))
	}
	if c.model != "" {
		attrs = append(attrs, slog.String("model", c.model), slog.String("route", c.route),
			slog.String("upstream", c.upstream), slog.Bool("stream", c.stream))
	}
	if c.input != "" {
		attrs = append(attrs, slog.String("input", c.input), slog.Int("prompt_bytes", c.promptLen),
			slog.String("prompt_sha256", c.promptSum), slog.String("policy", c.policy))
	}
	if c.output != "" {
		attrs = append(attrs, slog.String("output", c.output))
	}
	if c.code != "" {
		attrs = append(attrs, slog.String("risk_code", c.code))
	}
	if c.sanction != "" {
		attrs = append(attrs, slog.String("sanction", c.sanction))
	}
	if c.tokens > 0 {
		attrs = append(attrs, slog.Int64("tokens", c.tokens))
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelWarn
	}
	g.log.LogAttrs(ctx, level, "request", attrs...)
}

// newRequestID makes the request's id, which names it in the response,
// the log and the audit record. A client's X-Request-Id is never taken in
// its place: two requests could then share an id, and a complaint or a
// strike's evidence would point at either. The id is the time in
// milliseconds, then 48 random bits, in hex: ids that grow with time are
// added at the end of the audit trail's index on request ids, so that a
// commit of several records writes one page of it rather than one per
// record.
func newRequestID() string {
	var b [12]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixMilli())<<16)
	_, _ = rand.Read(b[6:])
	var id [4 + 2*len(b)]byte // one allocation: the string
	copy(id[:], "req_")
	hex.Encode(id[4:], b[:])
	return string(id[:])
}

// isRequestID reports whether s has the form newRequestID gives.
func isRequestID(s string) bool {
	hexPart, ok := strings.CutPrefix(s, "req_")
	if !ok || len(hexPart) != 24 {
		return false
	}
	_, err := hex.DecodeString(hexPart)
	return err == nil && strings.ToLower(hexPart) == hexPart
}

// clientRequestID is a well-formed X-Request-Id the client sent, kept for
// the log line so the client's and Firebreak's ids can be matched.
func clientRequestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); id != "" && len(id) <= 64 && isToken(id) {
		return id
	}
	return ""
}

func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '-' || c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// answerText is the text a client received, kept once: the first text
// written is held as it is (a stream's delivered text, which may be
// megabytes, is not copied); only a second write copies.
type answerText struct {
	first string
	more  strings.Builder
}

func (a *answerText) WriteString(s string) {
	if a.first == "" && a.more.Len() == 0 {
		a.first = s
		return
	}
	if a.first != "" {
		a.more.WriteString(a.first)
		a.first = ""
	}
	a.more.WriteString(s)
}

func (a *answerText) String() string {
	if a.first != "" {
		return a.first
	}
	return a.more.String()
}
