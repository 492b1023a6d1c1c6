package admin

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/openai"
	"github.com/firebreak/firebreak/staff"
)

// Route is one admin API route and the permissions that open it (any of
// them); no permission means any authenticated staff member. The router is
// built from these, so a test can enumerate every route from it.
type Route struct {
	Pattern     string
	Permissions []staff.Permission
}

// route is a Route with its handler and how it is recorded.
type route struct {
	Route
	// content marks a read that shows decrypted content: it is recorded
	// like a change.
	content bool
	h       http.HandlerFunc
}

// Routes lists every route the API serves.
func (a *API) Routes() []Route {
	out := make([]Route, len(a.table))
	for i, rt := range a.table {
		out[i] = rt.Route
	}
	return out
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p as the authenticated caller.
func WithPrincipal(ctx context.Context, p *staff.Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the caller that ctx carries, or nil.
func PrincipalFrom(ctx context.Context) *staff.Principal {
	p, _ := ctx.Value(principalKey{}).(*staff.Principal)
	return p
}

// actor names who makes a change: the authenticated person.
func actor(r *http.Request) string { return PrincipalFrom(r.Context()).Actor() }

// bearer is the token of "Authorization: Bearer <token>", or "".
func bearer(r *http.Request) string {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if h == "Bearer" {
		return ""
	}
	token, _ := strings.CutPrefix(h, "Bearer ")
	return strings.TrimSpace(token)
}

// authenticate finds the caller of an admin call: a personal staff token,
// or the bootstrap token (which may only create admins).
func (a *API) authenticate(r *http.Request) (*staff.Principal, error) {
	token := bearer(r)
	if token == "" {
		return nil, clienterr.Errorf(clienterr.InvalidAPIKey, "missing token: send 'Authorization: Bearer <personal admin token>'")
	}
	if strings.HasPrefix(token, staff.TokenPrefix) {
		p, err := a.staff.AuthenticateToken(r.Context(), token)
		if errors.Is(err, staff.ErrBadCredentials) {
			return nil, &clienterr.Error{Code: clienterr.InvalidAPIKey, Message: "invalid, expired or revoked token", Err: err}
		}
		return p, err
	}
	if err := a.accounts.CheckAdminToken(r.Context(), token); err != nil {
		return nil, &clienterr.Error{Code: clienterr.InvalidAPIKey, Message: "invalid token", Err: err}
	}
	return staff.BootstrapPrincipal(), nil
}

// allowed reports whether p may use rt for the request; when not, the
// error says why. A member limited to tenants may only use routes that
// name one of its tenants, its own routes (/me) and the audit search,
// which then keeps to its tenants.
func (a *API) allowed(r *http.Request, p *staff.Principal, rt *route, note *actionNote) error {
	ok := len(rt.Permissions) == 0 && p.Via != staff.ViaBootstrap
	for _, perm := range rt.Permissions {
		ok = ok || p.Can(perm)
	}
	if !ok {
		return clienterr.Errorf(clienterr.Forbidden, "the %s role may not %s %s", roleName(p), r.Method, r.URL.Path)
	}
	if !p.Member.Limited() || strings.HasPrefix(rt.Pattern, "GET /admin/v1/me") || strings.HasPrefix(rt.Pattern, "POST /admin/v1/me") {
		return nil
	}
	switch {
	case strings.Contains(rt.Pattern, "{tenant}"):
		t, err := a.tenant(r)
		if err != nil {
			return nil // the handler answers 404
		}
		note.tenant = t.ID
		if !p.Member.InTenant(t.ID) {
			return clienterr.Errorf(clienterr.Forbidden, "your role is limited to other tenants")
		}
		return nil
	case rt.Pattern == "GET /admin/v1/audit" || rt.Pattern == "GET /admin/v1/audit/export":
		return nil // query() keeps to the member's tenants
	}
	return clienterr.Errorf(clienterr.Forbidden, "your role is limited to tenants; %s %s spans every tenant", r.Method, r.URL.Path)
}

func roleName(p *staff.Principal) string {
	if p.Via == staff.ViaBootstrap {
		return "bootstrap token"
	}
	return string(p.Member.Role)
}

// actionNote collects what a handler adds to the record of its action.
type actionNote struct {
	tenant  string
	details []string
}

type noteKey struct{}

// note adds a detail ("reason=…") to the record of the request's action.
func note(r *http.Request, key, value string) {
	if n, ok := r.Context().Value(noteKey{}).(*actionNote); ok && value != "" {
		n.details = append(n.details, key+"="+value)
	}
}

// handle wraps a route's handler: permission check, then the handler,
// then the record of the action on the audit trail (changes, content
// views and refusals; plain reads are not recorded).
func (a *API) handle(rt *route) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p := PrincipalFrom(r.Context())
		n := &actionNote{}
		r = r.WithContext(context.WithValue(r.Context(), noteKey{}, n))
		sw := &recorder{ResponseWriter: w, status: http.StatusOK}
		if err := a.allowed(r, p, rt, n); err != nil {
			openai.WriteError(sw, err)
		} else {
			rt.h(sw, r)
		}
		if r.Method != http.MethodGet || rt.content || sw.status == http.StatusForbidden {
			a.record(r, p, rt.Pattern, sw.status, n)
		}
	}
}

// record appends the staff action to the audit trail. A failure is logged:
// the change it records has already happened.
func (a *API) record(r *http.Request, p *staff.Principal, name string, status int, n *actionNote) {
	a.recordAs(r, p, name, r.URL.Path, status, n)
}

// requestIDKey holds the request id ServeHTTP minted.
type requestIDKey struct{}

// recordAs is record with the target given.
func (a *API) recordAs(r *http.Request, p *staff.Principal, name, target string, status int, n *actionNote) {
	if a.trail == nil {
		return
	}
	id, _ := r.Context().Value(requestIDKey{}).(string)
	act := audit.Action{Time: a.now(), RequestID: id, Name: name, Target: target,
		Status: status, Outcome: outcome(status), Details: n.details, TenantID: n.tenant}
	if p != nil {
		act.Actor, act.Via = p.Actor(), via(p)
	}
	if err := a.trail.Append(r.Context(), act.Record()); err != nil {
		a.log.Error("record staff action", "action", name, "actor", act.Actor, "err", err)
	}
}

func via(p *staff.Principal) string {
	if p.CredentialID == "" {
		return p.Via
	}
	return p.Via + ":" + p.CredentialID
}

func outcome(status int) string {
	switch {
	case status < 400:
		return audit.OutcomeOK
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return audit.OutcomeDenied
	}
	return audit.OutcomeFailed
}
