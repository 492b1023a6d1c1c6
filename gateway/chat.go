package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/limit"
	"github.com/firebreak/firebreak/openai"
	"github.com/firebreak/firebreak/safety"
	"github.com/firebreak/firebreak/sanction"
	"github.com/firebreak/firebreak/upstream"
)

// chatCompletions is POST /v1/chat/completions: parse → end user → route →
// limits → input review → upstream → output review.
func (g *Gateway) chatCompletions(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := callFrom(ctx)
	body, err := g.readBody(w, r)
	if err != nil {
		openai.WriteError(w, err)
		return
	}
	req, err := openai.ParseChatRequest(body)
	if err != nil {
		openai.WriteError(w, err)
		return
	}
	c.stream = req.Stream
	if err := checkScope(g.policies.Engine("", "", false).Scope(), req); err != nil {
		openai.WriteError(w, err)
		return
	}
	router, route, ticket, err := g.admit(ctx, c, r, admission{model: req.Model, user: req.User,
		tenantDefault: c.principal.Tenant.DefaultModel, text: req.LatestUserText()})
	if err != nil {
		openai.WriteError(w, err)
		return
	}
	var tokens int64
	defer func() { ticket.Done(tokens); c.tokens = tokens }()

	engine := g.policies.Engine(route.Model.Name, c.principal.Tenant.Name, c.minor)
	// The three values share one array (h.Set makes one each); each slice
	// is capped, so that an Add to one copies rather than overwrites the next.
	h, vals := w.Header(), []string{route.Model.Name, route.Reason, engine.Version()}
	h["X-Firebreak-Model"], h["X-Firebreak-Route"], h["X-Firebreak-Policy"] = vals[0:1:1], vals[1:2:2], vals[2:3:3]
	if c.label, err = g.newLabelling(r, c, req); err != nil {
		openai.WriteError(w, err)
		return
	}
	span := g.stage(c, spanInputReview)
	in := g.reviewInput(engine, req, c)
	endStage(span, nil)
	warning := g.strike(ctx, c, in.strikes)
	if in.decision.Action >= safety.Refuse {
		c.outcome = "refused"
		g.writeRefusal(w, c, req, in.decision, warning)
		return
	}
	ground, err := g.ground(ctx, c, in.request)
	if err != nil {
		openai.WriteError(w, err)
		return
	}
	grant, ok := g.answerRoom(ctx, c, w)
	if !ok {
		return
	}
	defer grant.release()
	var upCtx context.Context
	var cancel context.CancelFunc
	if req.Stream {
		upCtx, cancel = context.WithCancel(ctx)
	} else {
		upCtx, cancel = g.bound(ctx, w)
	}
	defer cancel()
	check := g.startGuard(ctx, c, req, engine)
	upStart := time.Now()
	span = g.stage(c, spanUpstream)
	resp, err := router.Do(upCtx, route, upstream.Request{
		Path:   "/chat/completions",
		Body:   in.request.Encode,
		Stream: req.Stream,
	})
	endStage(span, err)
	if err != nil {
		c.outcome = "upstream_error"
		openai.WriteError(w, err)
		return
	}
	defer resp.Body.Close()
	c.upstream, c.firstByte = resp.Upstream, time.Since(upStart)
	if resp.StatusCode != http.StatusOK {
		c.outcome = "upstream_status"
		relayStatus(w, resp.Response, engine)
		return
	}
	rel := relay{g: g, c: c, engine: engine, req: req, input: in.decision, cancel: cancel, grant: grant, guard: check, ground: ground}
	span = g.stage(c, spanOutputReview)
	if req.Stream {
		tokens = rel.stream(ctx, w, resp.Body)
	} else {
		tokens = rel.complete(ctx, w, resp.Body)
	}
	endStage(span, nil)
}

// readBody reads the whole request body within the size limit. The
// Content-Type is not checked: the body must parse as JSON whatever the
// client labelled it (curl -d sends a form type).
func (g *Gateway) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, g.maxBody))
	if err != nil {
		return nil, bodyError(err, g.maxBody)
	}
	return body, nil
}

// bodyError says why a request body could not be read. It is apart from
// readBody so that the target errors.As needs is made only on failure.
func bodyError(err error, limit int64) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return clienterr.Errorf(clienterr.BodyTooLarge, "request body is larger than the limit of %d bytes", limit)
	}
	return clienterr.Wrap(clienterr.InvalidRequest, err, "could not read the request body")
}

// endUser resolves the end user a service key names in the body's "user"
// field or the user header; when both name one, it must be the same. A
// key that belongs to one end user always speaks for that user.
func (g *Gateway) endUser(ctx context.Context, p *account.Principal, bodyUser string, r *http.Request) (*account.EndUser, error) {
	id, err := g.endUserID(p, bodyUser, r)
	if id == "" || err != nil {
		return nil, err
	}
	u, err := g.accounts.Users.Resolve(ctx, p.Tenant.ID, id)
	if err != nil {
		return nil, clienterr.Wrap(clienterr.Unavailable, err, "could not record the end user; try again")
	}
	return u, nil
}

// endUserID is the operator's id of the end user a request names, as
// endUser reads it, without recording the user; "" when none is named.
func (g *Gateway) endUserID(p *account.Principal, bodyUser string, r *http.Request) (string, error) {
	id := strings.TrimSpace(bodyUser)
	header, err := oneHeader(r, g.userHeader)
	switch {
	case err != nil:
		return "", err
	case id == "":
		id = header
	case header != "" && header != id:
		return "", &clienterr.Error{Code: clienterr.InvalidRequest, Param: "user",
			Message: "'user' differs from the " + g.userHeader + " header: a request speaks for one end user"}
	}
	if own := p.Key.EndUser; own != "" {
		if id != "" && id != own {
			return "", errOtherUser("user")
		}
		id = own
	}
	if len(id) > 256 {
		return "", &clienterr.Error{Code: clienterr.InvalidRequest, Param: "user", Message: "'user' must be at most 256 characters"}
	}
	return id, nil
}

// admission is what admit needs of a request.
type admission struct {
	model, user   string // as the body names them
	tenantDefault string // the model for a request that names none
	text          string // the latest user message, for "auto"
}

// admit runs the steps every model call takes before review and the
// upstream: who the end user is, whether they may be served (blacklists,
// sanctions), which model serves them (1+N routing, allowed models,
// restrictions, real-name requirements, minors' mode), and their limits.
// The caller must call the ticket's Done.
func (g *Gateway) admit(ctx context.Context, c *call, r *http.Request, a admission) (*upstream.Router, upstream.Route, *limit.Ticket, error) {
	var err error
	if c.user, err = g.tokenUser(ctx, c, r, a.user); err == nil && c.user == nil {
		c.user, err = g.endUser(ctx, c.principal, a.user, r)
	}
	if err == nil {
		span := g.stage(c, spanStanding)
		err = g.checkStanding(ctx, c, r)
		endStage(span, err)
	}
	if err != nil {
		return nil, upstream.Route{}, nil, err
	}
	router := g.router()
	route, err := router.Resolve(a.model, a.tenantDefault, a.text)
	if err == nil && !modelAllowed(c.principal, route.Model.Name) {
		err = &clienterr.Error{Code: clienterr.ModelNotAllowed, Param: "model",
			Message: "this API key may not use model '" + route.Model.Name + "'"}
	}
	if err == nil {
		err = restrictedModel(c, route.Model.Name)
	}
	if err == nil {
		err = g.checkIdentity(ctx, c, route.Model.Name)
	}
	if err != nil {
		return nil, upstream.Route{}, nil, err
	}
	c.model, c.route = route.Model.Name, route.Reason
	span := g.stage(c, spanLimits)
	ticket, err := g.acquire(ctx, c)
	endStage(span, err)
	if err != nil {
		c.outcome = "limited"
		return nil, upstream.Route{}, nil, err
	}
	return router, route, ticket, nil
}

func modelAllowed(p *account.Principal, model string) bool {
	return allowedIn(p.Tenant.Models, model) && allowedIn(p.Key.Models, model)
}

func allowedIn(list []string, model string) bool {
	return len(list) == 0 || slices.Contains(list, model)
}

// acquire takes the request's limits: the key's, and the end user's when
// the request names one.
func (g *Gateway) acquire(ctx context.Context, c *call) (*limit.Ticket, error) {
	var room [2]limit.Subject // the key's and the user's, on the stack: AcquireAll keeps no reference
	subjects := append(room[:0], limit.Subject{Name: "key:" + c.principal.Key.ID, Limits: limits(c.principal.Key.Limits), Label: "key"})
	if c.user != nil {
		l := limits(c.principal.Tenant.Limits)
		if rpm := c.standing.Restrict.RPM; c.standing.Action == sanction.Restrict && rpm > 0 && (l.RPM == 0 || rpm < l.RPM) {
			l.RPM = rpm // a restricted user gets the lower rate
		}
		subjects = append(subjects, limit.Subject{Name: "user:" + c.user.ID, Limits: l, Label: "user"})
	}
	t, err := g.limiter.AcquireAll(ctx, subjects)
	if err != nil {
		var e *clienterr.Error
		if errors.As(err, &e) {
			g.metrics.limitHits.WithLabelValues(string(e.Code)).Inc()
		}
		return nil, err
	}
	return t, nil
}

func limits(l account.Limits) limit.Limits {
	return limit.Limits{RPM: l.RPM, Concurrent: l.Concurrent, TPM: l.TPM, TokenQuota: l.TokenQuota}
}

// relayStatus answers with an upstream's non-200 answer (a 400 for a
// prompt that is too long, say): its status (502 for one that is not an
// error's), its Retry-After, and its error in OpenAI's shape, whose
// message reaches the client only when review, reading it as an answer
// (escapes undone), allows it.
func relayStatus(w http.ResponseWriter, resp *http.Response, engine *safety.Engine) {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	d, message := openai.UpstreamError(resp.StatusCode, body)
	if message != "" && engine.CheckRead(safety.Output, message).Action == safety.Allow {
		d.Message = message
	}
	status := resp.StatusCode
	if status < 400 || status > 599 {
		status = http.StatusBadGateway
	}
	if v := resp.Header.Get("Retry-After"); v != "" {
		w.Header().Set("Retry-After", v)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	writeJSON(w, openai.ErrorBody{Error: d})
}

// digest is a short, stable fingerprint of text for logs.
func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

// oneHeader is the trimmed value of a header that names who or what a
// request is for (end user, identity token, device). More than one line
// of it is refused: a proxy that adds its line to the client's would
// otherwise leave the client's line to be read.
func oneHeader(r *http.Request, name string) (string, error) {
	vs := r.Header.Values(name)
	switch len(vs) {
	case 0:
		return "", nil
	case 1:
		return strings.TrimSpace(vs[0]), nil
	}
	return "", &clienterr.Error{Code: clienterr.InvalidRequest, Param: name,
		Message: "the " + name + " header is sent more than once: send it once"}
}
