package gateway

import (
	"net/http"
	"time"

	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/openai"
	"github.com/firebreak/firebreak/upstream"
)

// modelObject is one entry of GET /v1/models.
type modelObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
	Domain  string `json:"domain,omitempty"`
}

// autoModel is the model name that asks for routing by domain.
const autoModel = "auto"

// visibleModels lists the public models this key may use, "auto" first.
func (g *Gateway) visibleModels(c *call) []modelObject {
	var out []modelObject
	created := time.Now().Unix()
	router := g.router()
	if modelAllowed(c.principal, autoModel) {
		out = append(out, modelObject{ID: autoModel, Object: "model", Created: created, OwnedBy: "firebreak", Domain: "auto"})
	}
	for _, m := range router.Models() {
		if modelAllowed(c.principal, m.Name) {
			out = append(out, modelObject{ID: m.Name, Object: "model", Created: created, OwnedBy: "firebreak", Domain: m.Domain})
		}
	}
	return out
}

func (g *Gateway) listModels(w http.ResponseWriter, r *http.Request) {
	models := g.visibleModels(callFrom(r.Context()))
	if models == nil {
		models = []modelObject{}
	}
	w.Header().Set("Content-Type", "application/json")
	writeJSON(w, map[string]any{"object": "list", "data": models})
}

func (g *Gateway) getModel(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("model")
	for _, m := range g.visibleModels(callFrom(r.Context())) {
		if m.ID == id {
			w.Header().Set("Content-Type", "application/json")
			writeJSON(w, m)
			return
		}
	}
	openai.WriteError(w, &clienterr.Error{Code: clienterr.ModelNotFound, Param: "model",
		Message: "the model '" + id + "' does not exist or this key may not use it"})
}

// embeddings is POST /v1/embeddings: admitted like a chat completion
// (end user, sanctions, routing, real name, limits) and passed through.
// Embedding inputs are not generated content; they are not reviewed; an
// upstream's error is relayed as a chat completion's is. A
// request that names no model goes to the general model, not the tenant's
// bound chat model.
func (g *Gateway) embeddings(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := callFrom(ctx)
	body, err := g.readBody(w, r)
	if err != nil {
		openai.WriteError(w, err)
		return
	}
	req, err := openai.ParseEmbeddingRequest(body)
	if err != nil {
		openai.WriteError(w, err)
		return
	}
	router, route, ticket, err := g.admit(ctx, c, r, admission{model: req.Model, user: req.User})
	if err != nil {
		openai.WriteError(w, err)
		return
	}
	var tokens int64
	defer func() { ticket.Done(tokens); c.tokens = tokens }()
	grant, ok := g.answerRoom(ctx, c, w)
	if !ok {
		return
	}
	defer grant.release()
	ctx, cancel := g.bound(ctx, w)
	defer cancel()
	resp, err := router.Do(ctx, route, upstream.Request{Path: "/embeddings", Body: req.Encode})
	if err != nil {
		c.outcome = "upstream_error"
		openai.WriteError(w, err)
		return
	}
	defer resp.Body.Close()
	c.upstream = resp.Upstream
	if resp.StatusCode != http.StatusOK {
		c.outcome = "upstream_status"
		relayStatus(w, resp.Response, g.policies.Engine(route.Model.Name, c.principal.Tenant.Name, c.minor))
		return
	}
	out, err := readAllLimited(&budgetReader{r: resp.Body, g: grant}, g.maxAnswer)
	if err != nil {
		openai.WriteError(w, upstreamReadError(err))
		return
	}
	answer, err := openai.ParseEmbeddingResponse(out)
	if err != nil {
		c.outcome = "upstream_error"
		openai.WriteError(w, clienterr.Wrap(clienterr.UpstreamError, err, "the model server sent an answer that is not an embeddings list"))
		return
	}
	tokens = usedTokens(answer.Usage, len(body), 0)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(answer.Encode(c.model))
}
