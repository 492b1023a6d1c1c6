package upstream

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/firebreak/firebreak/clienterr"
)

// Options configures a Router.
type Options struct {
	// Upstreams are the model servers. Names must be unique.
	Upstreams []Config
	// Models are the public models. Names must be unique; at least one.
	Models []Model
	// Routing is the 1+N shape used for "auto" and for requests without a model.
	Routing Routing
	// Transport sends the requests. Default: one tuned *http.Transport per
	// upstream (keep-alives, 1024 idle connections per host, HTTP/2 when the
	// server offers it over TLS, no transparent gzip so streams are not
	// buffered, Config.ConnectTimeout on dials).
	Transport http.RoundTripper
	// Logger receives ejections and restorations. Default: discard.
	Logger *slog.Logger
	// Observer receives metrics events. Default: none.
	Observer Observer
	// EjectAfter is the number of consecutive failures that ejects a
	// target. Default 5.
	EjectAfter int
	// EjectFor is how long an ejected target gets no traffic; after it, one
	// probe request is let through (half-open) and its result restores or
	// re-ejects the target. Default 30s.
	EjectFor time.Duration
}

// Observer receives events for metrics. Calls are synchronous on the request
// path and must be cheap and safe for concurrent use.
type Observer interface {
	// ObserveAttempt is called once per attempt when its outcome is known:
	// at the response headers, or at a failure before or during the body.
	ObserveAttempt(Attempt)
	// ObserveEjection is called when a target is ejected (true) or restored (false).
	ObserveEjection(upstream, model string, ejected bool)
}

// Attempt is one request to one target.
type Attempt struct {
	Upstream string        // Config.Name
	Model    string        // the upstream's model name
	Outcome  Outcome       // what happened
	Status   int           // HTTP status, 0 when none was received
	Latency  time.Duration // from sending to the outcome (headers, or failure)
}

// Outcome classifies an attempt.
type Outcome string

const (
	OutcomeOK          Outcome = "ok"           // headers received, status passed to the caller
	OutcomeStatus      Outcome = "status"       // 429 or 5xx: retried on the next target
	OutcomeConnect     Outcome = "connect"      // transport error before any response
	OutcomeTimeout     Outcome = "timeout"      // no headers within FirstByteTimeout
	OutcomeCanceled    Outcome = "canceled"     // the caller's context ended
	OutcomeStreamError Outcome = "stream_error" // the body broke after the headers
	OutcomeIdleTimeout Outcome = "idle_timeout" // the body stalled for IdleTimeout
	OutcomeSlow        Outcome = "slow"         // headers later than SlowFirstByte: answered, counted as a failure
	OutcomeHedged      Outcome = "hedged"       // overtaken: a hedged attempt on another target answered first
)

// Router maps public models to upstream targets and sends requests to them.
// It is safe for concurrent use.
type Router struct {
	log        *slog.Logger
	obs        Observer
	ejectAfter int
	ejectFor   time.Duration
	now        func() time.Time

	models  []Model // declared order, for Models
	byName  map[string]*modelEntry
	entries []*modelEntry
	general *modelEntry
	auto    *autoRouter
	owned   []*http.Transport
	closed  atomic.Bool
}

// Route is the outcome of Resolve.
type Route struct {
	Model  *Model // the chosen public model; owned by the Router, do not modify
	Reason string // "direct", "tenant", "auto:<domain>", "auto:general", "general"

	entry *modelEntry
}

// New validates opts and builds a Router.
func New(opts Options) (*Router, error) {
	r := &Router{log: opts.Logger, obs: opts.Observer, ejectAfter: opts.EjectAfter, ejectFor: opts.EjectFor, now: time.Now}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.ejectAfter < 0 || r.ejectFor < 0 {
		return nil, fmt.Errorf("new router: eject_after and eject_for must not be negative")
	}
	if r.ejectAfter == 0 {
		r.ejectAfter = 5
	}
	r.ejectFor = orDefault(r.ejectFor, 30*time.Second)
	backends, err := r.buildBackends(opts.Upstreams, opts.Transport)
	if err != nil {
		return nil, fmt.Errorf("new router: %w", err)
	}
	if err := r.buildModels(opts.Models, backends); err != nil {
		return nil, fmt.Errorf("new router: %w", err)
	}
	if err := r.buildRouting(opts.Routing); err != nil {
		return nil, fmt.Errorf("new router: %w", err)
	}
	return r, nil
}

func (r *Router) buildBackends(cfgs []Config, rt http.RoundTripper) (map[string]*backend, error) {
	backends := make(map[string]*backend, len(cfgs))
	for _, c := range cfgs {
		c, err := c.withDefaults()
		if err != nil {
			return nil, err
		}
		if backends[c.Name] != nil {
			return nil, fmt.Errorf("duplicate upstream %q", c.Name)
		}
		b := &backend{cfg: c, rt: c.Transport}
		if c.APIKey != "" {
			b.bearer = "Bearer " + c.APIKey
		}
		if b.rt == nil {
			b.rt = rt
		}
		if b.rt == nil {
			t := newTransport(c.ConnectTimeout)
			r.owned = append(r.owned, t)
			b.rt = t
		}
		backends[c.Name] = b
	}
	return backends, nil
}

func (r *Router) buildModels(models []Model, backends map[string]*backend) error {
	if len(models) == 0 {
		return fmt.Errorf("no models")
	}
	r.byName = make(map[string]*modelEntry, len(models))
	shared := map[string]*target{} // one health state per upstream+model pair
	for _, m := range models {
		m, err := validModel(m)
		if err != nil {
			return err
		}
		if r.byName[m.Name] != nil {
			return fmt.Errorf("duplicate model %q", m.Name)
		}
		e := &modelEntry{}
		for _, tg := range m.Targets {
			b := backends[tg.Upstream]
			if b == nil {
				return fmt.Errorf("model %s: unknown upstream %q", m.Name, tg.Upstream)
			}
			key := tg.Upstream + "\x00" + tg.Model
			if shared[key] == nil {
				shared[key] = &target{backend: b, model: tg.Model}
			}
			e.targets = append(e.targets, shared[key])
		}
		e.current = make([]int, len(e.targets))
		r.models = append(r.models, m)
		r.byName[m.Name] = e
		r.entries = append(r.entries, e)
	}
	for i, e := range r.entries {
		e.model = &r.models[i]
	}
	return nil
}

func validModel(m Model) (Model, error) {
	switch {
	case m.Name == "":
		return m, fmt.Errorf("model without a name")
	case m.Name == "auto" || m.Name == "default":
		return m, fmt.Errorf("model name %q is reserved", m.Name)
	case len(m.Targets) == 0:
		return m, fmt.Errorf("model %s: no targets", m.Name)
	case len(m.Targets) > maxTargets:
		return m, fmt.Errorf("model %s: %d targets, at most %d", m.Name, len(m.Targets), maxTargets)
	}
	m.Targets = append([]Target(nil), m.Targets...)
	seen := map[Target]bool{}
	for i := range m.Targets {
		if m.Targets[i].Model == "" {
			m.Targets[i].Model = m.Name
		}
		if seen[m.Targets[i]] {
			return m, fmt.Errorf("model %s: duplicate target %s/%s", m.Name, m.Targets[i].Upstream, m.Targets[i].Model)
		}
		seen[m.Targets[i]] = true
	}
	return m, nil
}

func (r *Router) buildRouting(rt Routing) error {
	r.general = r.entries[0]
	if rt.General != "" {
		if r.general = r.byName[rt.General]; r.general == nil {
			return fmt.Errorf("routing: unknown general model %q", rt.General)
		}
	}
	a, err := newAutoRouter(rt.Domains, r.byName)
	r.auto = a
	return err
}

// Resolve chooses the public model for a request. requested is the client's
// "model": a public name, "auto", or "" / "default" for the tenant's default
// (tenantDefault, which may itself be "auto") and then the general model.
// latestUserText is the latest user message, used by "auto". An unknown
// name is an *clienterr.Error with CodeModelNotFound.
func (r *Router) Resolve(requested, tenantDefault, latestUserText string) (Route, error) {
	reason := "direct"
	if requested == "" || requested == "default" {
		if tenantDefault == "" {
			return Route{Model: r.general.model, Reason: "general", entry: r.general}, nil
		}
		requested, reason = tenantDefault, "tenant"
	}
	if requested == "auto" {
		if i := r.auto.pick(latestUserText); i >= 0 {
			d := &r.auto.domains[i]
			return Route{Model: d.entry.model, Reason: d.reason, entry: d.entry}, nil
		}
		return Route{Model: r.general.model, Reason: "auto:general", entry: r.general}, nil
	}
	e := r.byName[requested]
	if e == nil {
		err := clienterr.Errorf(clienterr.ModelNotFound, "The model %q does not exist.", requested)
		err.Param = "model"
		return Route{}, err
	}
	return Route{Model: e.model, Reason: reason, entry: e}, nil
}

// Models returns the public models in declared order.
func (r *Router) Models() []Model {
	out := make([]Model, len(r.models))
	for i, m := range r.models {
		m.Targets = append([]Target(nil), m.Targets...)
		out[i] = m
	}
	return out
}

// TargetHealth is the state of one target of one model.
type TargetHealth struct {
	Model               string    `json:"model"`          // public name
	Upstream            string    `json:"upstream"`       // Config.Name
	UpstreamModel       string    `json:"upstream_model"` // the upstream's model name
	Healthy             bool      `json:"healthy"`        // not ejected
	ConsecutiveFailures int       `json:"consecutive_failures"`
	EjectedUntil        time.Time `json:"ejected_until,omitzero"` // when the next probe may go
	InFlight            int       `json:"in_flight"`              // requests in flight to the upstream
	MaxConcurrent       int       `json:"max_concurrent"`
}

// Health returns the state of every target of every model, in declared order.
func (r *Router) Health() []TargetHealth {
	var out []TargetHealth
	for _, e := range r.entries {
		for _, t := range e.targets {
			t.mu.Lock()
			h := TargetHealth{
				Model: e.model.Name, Upstream: t.backend.cfg.Name, UpstreamModel: t.model,
				Healthy: !t.ejected, ConsecutiveFailures: t.fails,
				InFlight: int(t.backend.inflight.Load()), MaxConcurrent: t.backend.cfg.MaxConcurrent,
			}
			if t.ejected {
				h.EjectedUntil = t.until
			}
			t.mu.Unlock()
			out = append(out, h)
		}
	}
	return out
}

// Close releases idle connections. Requests after Close fail; bodies already
// returned stay readable.
func (r *Router) Close() error {
	r.closed.Store(true)
	for _, t := range r.owned {
		t.CloseIdleConnections()
	}
	return nil
}

// newTransport returns the default transport for one upstream.
func newTransport(connect time.Duration) *http.Transport {
	d := &net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          0, // no global cap; the per-host cap below applies
		MaxIdleConnsPerHost:   1024,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   connect,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
	}
}
