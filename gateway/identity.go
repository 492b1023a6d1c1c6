package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/identity"
	"github.com/firebreak/firebreak/openai"
	"github.com/firebreak/firebreak/store"
)

// tokenHeader carries an identity token signed by the operator's identity
// system; its claims name the end user, their verification level and age.
const tokenHeader = "X-Firebreak-User-Token"

// tokenUser resolves the end user an identity token names and records what
// the token vouches for. It returns nil when the request carries no token.
func (g *Gateway) tokenUser(ctx context.Context, c *call, r *http.Request, bodyUser string) (*account.EndUser, error) {
	token, err := oneHeader(r, tokenHeader)
	if token == "" || err != nil {
		return nil, err
	}
	if g.tokens == nil {
		return nil, clienterr.Errorf(clienterr.InvalidRequest, "this gateway does not accept identity tokens (%s)", tokenHeader)
	}
	claims, err := g.tokens.Verify(token)
	if err != nil {
		return nil, err // an *clienterr.Error (401)
	}
	header, err := oneHeader(r, g.userHeader)
	if err != nil {
		return nil, err
	}
	for _, named := range []struct{ id, where string }{{strings.TrimSpace(bodyUser), "'user'"}, {header, "the " + g.userHeader + " header"}} {
		if named.id != "" && named.id != claims.Subject {
			return nil, &clienterr.Error{Code: clienterr.InvalidRequest, Param: "user",
				Message: named.where + " differs from the subject of the identity token"}
		}
	}
	if own := c.principal.Key.EndUser; own != "" && own != claims.Subject {
		return nil, errOtherUser(tokenHeader)
	}
	u, err := g.accounts.Users.Resolve(ctx, c.principal.Tenant.ID, claims.Subject)
	if err != nil {
		return nil, clienterr.Wrap(clienterr.Unavailable, err, "could not record the end user; try again")
	}
	if err := g.identity.Attest(ctx, u, claims); err != nil {
		return nil, clienterr.Wrap(clienterr.Unavailable, err, "could not record the identity token; try again")
	}
	return u, nil
}

// checkIdentity applies the real-name requirement of the model and, for a
// minor, minors' mode (quiet hours, a daily cap). It counts a minor's
// request, so it runs once per request.
func (g *Gateway) checkIdentity(ctx context.Context, c *call, model string) error {
	if g.identity == nil {
		return nil
	}
	if c.user == nil {
		if g.identity.Required(model) > identity.LevelUnverified {
			return &clienterr.Error{Code: clienterr.Forbidden, Param: "user",
				Message: "model '" + model + "' is only for verified users: name the end user in 'user' or " + g.userHeader}
		}
		return nil
	}
	if err := g.identity.Check(ctx, c.user, model); err != nil {
		c.outcome = "unverified"
		return err
	}
	now := time.Now()
	if err := g.identity.MinorGate(ctx, c.user, now); err != nil {
		c.outcome = "minor_gate"
		return err
	}
	overlay, err := g.identity.Overlay(ctx, c.user, now)
	if err != nil {
		return clienterr.Wrap(clienterr.Unavailable, err, "could not read the user's verification state; try again")
	}
	c.minor = overlay != ""
	return nil
}

// identityInput is the body of the verification endpoints: the operator's
// app acts for its user, named by the operator's own id.
type identityInput struct {
	User     string `json:"user"`
	Phone    string `json:"phone"`
	Code     string `json:"code"`
	Name     string `json:"name"`
	IDNumber string `json:"id_number"`
	USCC     string `json:"uscc"`
}

// identityRoutes serves the built-in verification flows under
// /v1/identity/.
func (g *Gateway) identityRoutes(mux *http.ServeMux) {
	mux.Handle("POST /v1/identity/phone/start", g.api("identity", g.verify(func(ctx context.Context, c *call, u *account.EndUser, in identityInput, r *http.Request) error {
		return g.identity.StartPhone(ctx, c.principal.Tenant.ID, u.ID, in.Phone, g.clientIP(r).String())
	})))
	mux.Handle("POST /v1/identity/phone/confirm", g.api("identity", g.verify(func(ctx context.Context, c *call, u *account.EndUser, in identityInput, _ *http.Request) error {
		return g.identity.ConfirmPhone(ctx, c.principal.Tenant.ID, u.ID, in.Phone, in.Code)
	})))
	mux.Handle("POST /v1/identity/id_document", g.api("identity", g.verify(func(ctx context.Context, _ *call, u *account.EndUser, in identityInput, _ *http.Request) error {
		return g.identity.VerifyIDDocument(ctx, u, in.Name, in.IDNumber)
	})))
	mux.Handle("POST /v1/identity/organisation", g.api("identity", g.verify(func(ctx context.Context, _ *call, u *account.EndUser, in identityInput, _ *http.Request) error {
		return g.identity.VerifyOrganisation(ctx, u, in.USCC, in.Name)
	})))
	mux.Handle("GET /v1/identity/users/{user}", g.api("identity", g.identityState))
}

// verify wraps one verification step: decode, resolve the user, check
// their standing, run the step, answer with the user's level. A user the
// service refuses (blacklisted, suspended, terminated) verifies nothing:
// a blacklisted number would otherwise be replaced by a clean one.
func (g *Gateway) verify(step func(context.Context, *call, *account.EndUser, identityInput, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		c := callFrom(ctx)
		var in identityInput
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			openai.WriteError(w, clienterr.Wrap(clienterr.InvalidJSON, err, "invalid body: "+err.Error()))
			return
		}
		u, err := g.endUser(ctx, c.principal, in.User, r)
		if err == nil && u == nil {
			err = &clienterr.Error{Code: clienterr.InvalidRequest, Param: "user", Message: "'user' is required"}
		}
		if err == nil { // a user the service refuses may not change what it knows of them
			c.user = u
			err = g.checkStanding(ctx, c, r)
		}
		if err == nil {
			err = step(ctx, c, u, in, r)
		}
		if err != nil {
			openai.WriteError(w, err)
			return
		}
		g.writeState(w, r, u.ID)
	}
}

// identityState answers GET /v1/identity/users/{user}. A key of one end
// user reads only that user's state; a read never records a user: one
// Firebreak has not seen is unverified.
func (g *Gateway) identityState(w http.ResponseWriter, r *http.Request) {
	c := callFrom(r.Context())
	id := r.PathValue("user")
	if own := c.principal.Key.EndUser; own != "" && own != id {
		openai.WriteError(w, errOtherUser("user"))
		return
	}
	u, err := g.accounts.Users.Find(r.Context(), c.principal.Tenant.ID, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		w.Header().Set("Content-Type", "application/json")
		writeJSON(w, map[string]any{"object": "identity", "level": identity.LevelUnverified, "minor": false})
		return
	case err != nil:
		openai.WriteError(w, clienterr.Wrap(clienterr.Unavailable, err, "could not read the end user; try again"))
		return
	}
	g.writeState(w, r, u.ID)
}

// errOtherUser refuses a key of one end user acting for another.
func errOtherUser(param string) error {
	return &clienterr.Error{Code: clienterr.Forbidden, Param: param, Message: "this API key belongs to one end user and cannot act for another"}
}

// writeState answers with what the app may know of its user's verification:
// the level and whether minors' mode applies, never the identifiers.
func (g *Gateway) writeState(w http.ResponseWriter, r *http.Request, userID string) {
	st, err := g.identity.State(r.Context(), userID)
	if err != nil && !errors.Is(err, context.Canceled) {
		openai.WriteError(w, clienterr.Wrap(clienterr.Unavailable, err, "could not read the verification state"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	out := map[string]any{"object": "identity", "level": st.Level, "minor": st.IsMinor(time.Now())}
	if st.Method != "" {
		out["method"], out["verified_at"] = st.Method, st.VerifiedAt
	}
	if st.Phone != "" {
		out["phone"] = st.Phone // masked
	}
	writeJSON(w, out)
}
