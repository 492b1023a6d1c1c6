package gateway

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/openai"
	"github.com/firebreak/firebreak/review"
)

// Appeals takes end users' appeals against their sanctions (review.Queue).
type Appeals interface {
	FileAppeal(ctx context.Context, tenantID, endUser, sanctionID, text string) (*review.Appeal, error)
	Appeal(ctx context.Context, tenantID, endUser, id string) (*review.Appeal, error)
}

// appealInput is the body of POST /v1/appeals: the operator's app files
// what its sanctioned user writes. The end user is who the request speaks
// for, as on a chat completion (the key's own user, an identity token, or
// "user"), never an id of the body's choosing on a key of one user.
type appealInput struct {
	SanctionID string `json:"sanction_id"`
	Text       string `json:"text"`
	User       string `json:"user"`
}

type appealView struct {
	*review.Appeal
	Object string `json:"object"`
}

// appealUser resolves the end user an appeal speaks for. A sanctioned
// user may appeal: standing is not checked.
func (g *Gateway) appealUser(ctx context.Context, r *http.Request, user string) (string, error) {
	c := callFrom(ctx)
	u, err := g.tokenUser(ctx, c, r, user)
	if err == nil && u == nil {
		u, err = g.endUser(ctx, c.principal, user, r)
	}
	if err != nil {
		return "", err
	}
	if u == nil {
		return "", &clienterr.Error{Code: clienterr.InvalidRequest, Param: "user",
			Message: "an appeal needs the end user: a key of one user, an identity token, or 'user'"}
	}
	return u.ID, nil
}

func (g *Gateway) fileAppeal(w http.ResponseWriter, r *http.Request) {
	var in appealInput
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		openai.WriteError(w, clienterr.Wrap(clienterr.InvalidJSON, err, "invalid appeal: "+err.Error()))
		return
	}
	user, err := g.appealUser(r.Context(), r, in.User)
	if err != nil {
		openai.WriteError(w, err)
		return
	}
	a, err := g.appeals.FileAppeal(r.Context(), callFrom(r.Context()).principal.Tenant.ID, user, in.SanctionID, in.Text)
	if err != nil {
		g.writeDomainError(w, err, "the appeal could not be stored; try again")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	writeJSON(w, appealView{a, "appeal"})
}

func (g *Gateway) getAppeal(w http.ResponseWriter, r *http.Request) {
	user, err := g.appealUser(r.Context(), r, r.URL.Query().Get("user"))
	if err != nil {
		openai.WriteError(w, err)
		return
	}
	a, err := g.appeals.Appeal(r.Context(), callFrom(r.Context()).principal.Tenant.ID, user, r.PathValue("id"))
	if err != nil {
		g.writeDomainError(w, err, "the appeal could not be read; try again")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	writeJSON(w, appealView{a, "appeal"})
}

// writeDomainError writes a client-safe error as it is and anything else
// as unavailable with msg; the cause of that goes to the log.
func (g *Gateway) writeDomainError(w http.ResponseWriter, err error, msg string) {
	if clienterr.As(err).Code == clienterr.Internal {
		g.log.Error("appeal", "err", err)
		err = clienterr.Wrap(clienterr.Unavailable, err, msg)
	}
	openai.WriteError(w, err)
}
