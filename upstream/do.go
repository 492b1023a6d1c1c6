package upstream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/firebreak/firebreak/clienterr"
)

// ErrIdleTimeout is the cause of a Response body read that waited longer
// than the upstream's IdleTimeout: test with errors.Is.
var ErrIdleTimeout = errors.New("upstream idle timeout")

var errFirstByte = errors.New("upstream first byte timeout")

// Request is what the gateway asks an upstream. The router only adds the
// upstream's credentials and headers; the body is the gateway's.
type Request struct {
	// Path is appended to the base URL: "/chat/completions", "/embeddings".
	Path string
	// Body encodes the request for one target, with that target's model
	// name. It may be called once per attempt; results are reused while the
	// model name stays the same.
	Body func(upstreamModel string) ([]byte, error)
	// Header is passed on. Authorization is dropped: an upstream's
	// credentials come only from its Config.
	Header http.Header
	// Stream asks for an SSE response (Accept: text/event-stream).
	Stream bool
}

// Response is an upstream's answer. Its Body must be closed: closing
// releases the concurrency slot. A body read waits at most the upstream's
// IdleTimeout (then fails with ErrIdleTimeout), and a read error counts
// against the target's health.
type Response struct {
	*http.Response
	Upstream      string // Config.Name of the target that answered
	UpstreamModel string // the target's model name
	Attempts      int    // 1 when the first target answered
}

// failure is one failed attempt.
type failure struct {
	kind       Outcome
	status     int           // for OutcomeStatus
	retryAfter time.Duration // from a 429 or 503
	err        error
}

// Do sends req to one of the route's targets, moving on to the next target
// when an attempt fails before any response byte: a transport error, no
// headers within FirstByteTimeout, or status 429, 500, 502, 503 or 504.
// Other statuses, 4xx included, are returned as they are. When every
// target fails the error is an *clienterr.Error: CodeUpstreamTimeout (last
// failure a timeout), CodeUnavailable (nothing eligible, or the last target
// overloaded with 429; RetryAfter set) or CodeUpstreamError. Cancelling ctx
// cancels the attempt and, later, the body.
func (r *Router) Do(ctx context.Context, route Route, req Request) (*Response, error) {
	e := route.entry
	if e == nil && route.Model != nil {
		e = r.byName[route.Model.Name]
	}
	switch {
	case e == nil:
		return nil, clienterr.Errorf(clienterr.ModelNotFound, "The model does not exist.")
	case req.Body == nil || req.Path == "":
		return nil, fmt.Errorf("upstream request: path and body are required")
	case r.closed.Load():
		return nil, &clienterr.Error{Code: clienterr.Unavailable, Message: "The service is shutting down.", RetryAfter: time.Second}
	}
	d := &doing{r: r, e: e, req: req}
	for d.attempts < len(e.targets) {
		i, probe, wait := e.pick(d.tried, r.now())
		if i < 0 {
			if d.attempts == 0 {
				return nil, unavailable(e.model.Name, wait)
			}
			break
		}
		resp, f, err := d.try(ctx, i, probe)
		if err != nil {
			return nil, err
		}
		if f == nil {
			resp.Attempts = d.attempts
			return resp, nil
		}
		if f.kind == OutcomeCanceled {
			return nil, canceled(ctx)
		}
		d.errs, d.last = append(d.errs, f.err), f
	}
	return nil, exhausted(d.last, d.errs)
}

// doing is one Do in progress: the targets tried and what failed.
type doing struct {
	r         *Router
	e         *modelEntry
	req       Request
	tried     uint64
	attempts  int
	errs      []error
	last      *failure
	body      []byte
	bodyModel string
}

// errOvertaken cancels an attempt whose hedge answered first.
var errOvertaken = errors.New("a hedged attempt answered first")

// start claims target i (picked, holding a slot) for an attempt and
// returns the body to send it.
func (d *doing) start(i int, probe bool) (*target, []byte, error) {
	d.tried |= 1 << i
	d.attempts++
	t := d.e.targets[i]
	if d.body == nil || t.model != d.bodyModel {
		body, err := d.req.Body(t.model)
		if err != nil {
			t.backend.release()
			d.r.record(t, resultNeutral, probe)
			return nil, nil, fmt.Errorf("encode upstream request: %w", err)
		}
		d.body, d.bodyModel = body, t.model
	}
	return t, d.body, nil
}

type attemptResult struct {
	n    int // the attempt's place in cancels
	resp *Response
	f    *failure
}

// try sends the request to target i and, when the target has HedgeAfter
// and no headers came by then, to one more target as well: the first
// success wins, the other attempt is cancelled.
func (d *doing) try(ctx context.Context, i int, probe bool) (*Response, *failure, error) {
	t, body, err := d.start(i, probe)
	if err != nil {
		return nil, nil, err
	}
	hedge := t.backend.cfg.HedgeAfter
	if hedge <= 0 {
		resp, f := d.r.attempt(ctx, t, probe, d.req, body)
		return resp, f, nil
	}
	results := make(chan attemptResult, 2)
	var cancels []context.CancelCauseFunc
	launch := func(t *target, probe bool, body []byte) {
		actx, cancel := context.WithCancelCause(ctx)
		n := len(cancels)
		cancels = append(cancels, cancel)
		go func() {
			resp, f := d.r.attempt(actx, t, probe, d.req, body)
			results <- attemptResult{n, resp, f}
		}()
	}
	launch(t, probe, body)
	timer := time.NewTimer(hedge)
	defer timer.Stop()
	running := 1
	var failed *failure
	for running > 0 {
		select {
		case <-timer.C:
			j, probe2, _ := d.e.pick(d.tried, d.r.now())
			if j < 0 {
				continue
			}
			t2, body2, err := d.start(j, probe2)
			if err != nil {
				continue
			}
			launch(t2, probe2, body2)
			running++
		case res := <-results:
			running--
			if res.f != nil {
				failed = res.f
				continue
			}
			for n, cancel := range cancels {
				if n != res.n { // the winner's body lives on its context
					cancel(errOvertaken)
				}
			}
			go discard(results, running)
			return res.resp, nil, nil
		}
	}
	return nil, failed, nil
}

// discard closes the bodies of attempts that answered after another won.
func discard(results <-chan attemptResult, n int) {
	for range n {
		if res := <-results; res.f == nil {
			res.resp.Body.Close()
		}
	}
}

// attempt sends one request to t, which holds a slot claimed by pick.
func (r *Router) attempt(ctx context.Context, t *target, probe bool, req Request, body []byte) (*Response, *failure) {
	b := t.backend
	actx, cancel := context.WithCancelCause(ctx)
	hreq, err := b.newRequest(actx, req, body)
	if err != nil {
		cancel(nil)
		b.release()
		r.record(t, resultNeutral, probe)
		return nil, &failure{kind: OutcomeConnect, err: fmt.Errorf("upstream %s: %w", b.cfg.Name, err)}
	}
	start := time.Now()
	rb := newBody(r, t, ctx, actx, cancel, b.cfg.FirstByteTimeout)
	resp, err := b.rt.RoundTrip(hreq)
	if !rb.timer.Stop() && err == nil {
		resp.Body.Close() // the timer won the race: this body is already cancelled
		err = errFirstByte
	}
	if err == nil && retryable(resp.StatusCode) {
		err = fmt.Errorf("status %d", resp.StatusCode)
		drain(resp.Body)
	}
	slow := b.cfg.SlowFirstByte > 0 && time.Since(start) > b.cfg.SlowFirstByte
	if err != nil {
		f := classify(ctx, actx, resp, err)
		f.err = fmt.Errorf("upstream %s: %w", b.cfg.Name, f.err)
		cancel(nil)
		b.release()
		res := resultFail
		if f.kind == OutcomeCanceled && errors.Is(context.Cause(ctx), errOvertaken) {
			f.kind = OutcomeHedged
		}
		if (f.kind == OutcomeCanceled || f.kind == OutcomeHedged) && !slow {
			res = resultNeutral // the caller or a faster target ended it: nothing against this one
		}
		r.record(t, res, probe)
		r.observe(t, f.kind, resp, start)
		return nil, f
	}
	if slow { // answered, but as an outlier: it counts against the target
		r.record(t, resultFail, probe)
		r.observe(t, OutcomeSlow, resp, start)
	} else {
		r.record(t, resultOK, probe)
		r.observe(t, OutcomeOK, resp, start)
	}
	resp.Body = rb.opened(resp.Body)
	return &Response{Response: resp, Upstream: b.cfg.Name, UpstreamModel: t.model}, nil
}

func (b *backend) newRequest(ctx context.Context, req Request, body []byte) (*http.Request, error) {
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, b.cfg.BaseURL+req.Path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	h := hreq.Header
	for k, v := range req.Header {
		h[k] = v
	}
	h.Del("Authorization")
	for k, v := range b.cfg.Headers {
		h.Set(k, v)
	}
	accept := "application/json"
	if req.Stream {
		accept = "text/event-stream"
	}
	// The values share one array (h.Set makes one each); each slice is
	// capped, so that an Add to one copies rather than overwrites the next.
	vals := []string{"application/json", accept, b.bearer}
	h["Content-Type"], h["Accept"] = vals[0:1:1], vals[1:2:2]
	if b.bearer != "" {
		h["Authorization"] = vals[2:3:3]
	}
	return hreq, nil
}

func retryable(status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// drain reads a little of a discarded body so the connection can be reused.
func drain(body io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, body, 4<<10)
	_ = body.Close()
}

// classify names the failure of an attempt. resp is set for a retryable status.
func classify(ctx, actx context.Context, resp *http.Response, err error) *failure {
	var ne net.Error
	switch {
	case ctx.Err() != nil:
		return &failure{kind: OutcomeCanceled, err: err}
	case errors.Is(context.Cause(actx), errFirstByte) || errors.Is(err, errFirstByte):
		return &failure{kind: OutcomeTimeout, err: errFirstByte}
	case resp != nil:
		return &failure{kind: OutcomeStatus, status: resp.StatusCode, retryAfter: retryAfter(resp.Header.Get("Retry-After")), err: err}
	case errors.As(err, &ne) && ne.Timeout():
		return &failure{kind: OutcomeTimeout, err: err}
	}
	return &failure{kind: OutcomeConnect, err: err}
}

// retryAfter parses a Retry-After header given in seconds (dates are rare
// from model servers and ignored).
func retryAfter(v string) time.Duration {
	secs, err := strconv.Atoi(v)
	if err != nil || secs < 0 {
		return 0
	}
	return time.Duration(secs) * time.Second
}

func (r *Router) observe(t *target, kind Outcome, resp *http.Response, start time.Time) {
	if r.obs == nil {
		return
	}
	a := Attempt{Upstream: t.backend.cfg.Name, Model: t.model, Outcome: kind, Latency: time.Since(start)}
	if resp != nil {
		a.Status = resp.StatusCode
	}
	r.obs.ObserveAttempt(a)
}

func canceled(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return clienterr.Wrap(clienterr.UpstreamTimeout, context.Cause(ctx), "The model backend did not answer in time.")
	}
	return clienterr.Wrap(clienterr.UpstreamError, context.Cause(ctx), "The request was cancelled.")
}

func unavailable(model string, wait time.Duration) error {
	e := clienterr.Wrap(clienterr.Unavailable, fmt.Errorf("model %s: every target is ejected or at capacity", model),
		"No backend is available for this model right now; retry later.")
	e.RetryAfter = max(wait, time.Second)
	return e
}

func exhausted(last *failure, errs []error) error {
	cause := errors.Join(errs...)
	switch {
	case last.kind == OutcomeTimeout:
		return clienterr.Wrap(clienterr.UpstreamTimeout, cause, "The model backend did not answer in time.")
	case last.kind == OutcomeStatus && (last.status == http.StatusTooManyRequests || last.retryAfter > 0):
		e := clienterr.Wrap(clienterr.Unavailable, cause, "The model backend is overloaded; retry later.")
		e.RetryAfter = max(last.retryAfter, time.Second)
		return e
	}
	return clienterr.Wrap(clienterr.UpstreamError, cause, "The model backend failed.")
}
