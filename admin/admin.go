// Package admin is Firebreak's admin API: tenants, API keys, end users,
// upstreams, models and routing, under /admin/v1/, protected by the admin
// token. The `firebreak` CLI's admin commands are clients of this API, so a
// change made either way reaches the running server's caches at once.
package admin

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/catalog"
	"github.com/firebreak/firebreak/openai"
	"github.com/firebreak/firebreak/policy"
	"github.com/firebreak/firebreak/sanction"
	"github.com/firebreak/firebreak/store"
)

// Options configure the admin API. Accounts and Catalog are required.
type Options struct {
	Accounts *account.Service
	Catalog  *catalog.Catalog
	// Sanctions, when set, adds the sanctions and blacklist endpoints.
	Sanctions *sanction.Service
	// Policy, when set, adds the policy endpoints (publish, rollback,
	// history, dry runs, coverage).
	Policy *policy.Service
	// Trail and Complaints, when set, add the audit, data-subject and
	// complaint endpoints.
	Trail      *audit.Trail
	Complaints *audit.Complaints
	// Logger receives one line per admin call (who, what, outcome).
	// Default: discard.
	Logger *slog.Logger
}

// API serves /admin/v1/.
type API struct {
	accounts   *account.Service
	catalog    *catalog.Catalog
	sanctions  *sanction.Service
	trail      *audit.Trail
	complaints *audit.Complaints
	policy     *policy.Service
	log        *slog.Logger
	mux        *http.ServeMux
}

// New validates opts and returns the admin API.
func New(opts Options) (*API, error) {
	if opts.Accounts == nil || opts.Catalog == nil {
		return nil, errors.New("admin: Accounts and Catalog are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	a := &API{accounts: opts.Accounts, catalog: opts.Catalog, sanctions: opts.Sanctions,
		trail: opts.Trail, complaints: opts.Complaints, policy: opts.Policy, log: opts.Logger}
	a.routes()
	return a, nil
}

func (a *API) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /admin/v1/tenants", a.listTenants)
	m.HandleFunc("POST /admin/v1/tenants", a.createTenant)
	m.HandleFunc("GET /admin/v1/tenants/{tenant}", a.getTenant)
	m.HandleFunc("PATCH /admin/v1/tenants/{tenant}", a.updateTenant)
	m.HandleFunc("DELETE /admin/v1/tenants/{tenant}", a.deleteTenant)
	m.HandleFunc("GET /admin/v1/tenants/{tenant}/keys", a.listKeys)
	m.HandleFunc("POST /admin/v1/tenants/{tenant}/keys", a.createKey)
	m.HandleFunc("GET /admin/v1/tenants/{tenant}/users", a.listUsers)
	m.HandleFunc("DELETE /admin/v1/keys/{key}", a.revokeKey)
	m.HandleFunc("GET /admin/v1/upstreams", a.listUpstreams)
	m.HandleFunc("PUT /admin/v1/upstreams/{name}", a.putUpstream)
	m.HandleFunc("DELETE /admin/v1/upstreams/{name}", a.deleteUpstream)
	m.HandleFunc("GET /admin/v1/models", a.listModels)
	m.HandleFunc("PUT /admin/v1/models/{name}", a.putModel)
	m.HandleFunc("DELETE /admin/v1/models/{name}", a.deleteModel)
	m.HandleFunc("GET /admin/v1/routing", a.getRouting)
	m.HandleFunc("PUT /admin/v1/routing", a.putRouting)
	m.HandleFunc("GET /admin/v1/health", a.health)
	if a.sanctions != nil {
		m.HandleFunc("GET /admin/v1/tenants/{tenant}/users/{user}", a.getStanding)
		m.HandleFunc("POST /admin/v1/tenants/{tenant}/users/{user}/sanctions", a.imposeSanction)
		m.HandleFunc("POST /admin/v1/sanctions/{id}/lift", a.liftSanction)
		m.HandleFunc("GET /admin/v1/blacklist", a.listBlacklist)
		m.HandleFunc("POST /admin/v1/blacklist", a.addBlacklist)
		m.HandleFunc("DELETE /admin/v1/blacklist/{id}", a.removeBlacklist)
	}
	if a.trail != nil {
		m.HandleFunc("GET /admin/v1/audit", a.searchAudit)
		m.HandleFunc("GET /admin/v1/audit/export", a.exportAudit)
		m.HandleFunc("GET /admin/v1/tenants/{tenant}/users/{user}/records", a.userRecords)
		m.HandleFunc("DELETE /admin/v1/tenants/{tenant}/users/{user}/records", a.forgetUser)
	}
	if a.policy != nil {
		policyRoutes(m, a.policy, a.trail)
	}
	if a.complaints != nil {
		m.HandleFunc("GET /admin/v1/complaints", a.listComplaints)
		m.HandleFunc("GET /admin/v1/complaints/{id}", a.getComplaint)
		m.HandleFunc("PATCH /admin/v1/complaints/{id}", a.updateComplaint)
	}
	m.HandleFunc("/admin/", func(w http.ResponseWriter, r *http.Request) {
		openai.WriteError(w, openai.Errorf(openai.CodeNotFound, "unknown admin endpoint %s %s", r.Method, r.URL.Path))
	})
	a.mux = m
}

// ServeHTTP checks the admin token, then serves the call.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if token == "" {
		openai.WriteError(w, openai.Errorf(openai.CodeInvalidAPIKey, "missing admin token: send 'Authorization: Bearer <admin token>'"))
		return
	}
	if err := a.accounts.CheckAdminToken(r.Context(), strings.TrimSpace(token)); err != nil {
		openai.WriteError(w, &openai.Error{Code: openai.CodeInvalidAPIKey, Message: "invalid admin token", Err: err})
		return
	}
	if len(r.Header.Get(actorHeader)) > 128 {
		openai.WriteError(w, openai.Errorf(openai.CodeInvalidRequest, "%s must be at most 128 bytes", actorHeader))
		return
	}
	sw := &recorder{ResponseWriter: w}
	a.mux.ServeHTTP(sw, r)
	a.log.Info("admin", "method", r.Method, "path", r.URL.Path, "status", sw.status)
}

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// decode reads a JSON body of at most 1 MiB into v, refusing unknown
// fields so a typo is an error, not a silent default.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return openai.Wrap(openai.CodeInvalidJSON, err, "invalid JSON body: "+err.Error())
	}
	return nil
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

type list[T any] struct {
	Data []T `json:"data"`
}

// fail maps a service error to an admin API error response.
func fail(w http.ResponseWriter, err error) {
	var invalid *catalog.InvalidError
	switch {
	case errors.Is(err, store.ErrNotFound):
		openai.WriteError(w, openai.Wrap(openai.CodeNotFound, err, notFoundMessage(err)))
	case errors.Is(err, account.ErrNameTaken), errors.Is(err, catalog.ErrStatic), errors.Is(err, sanction.ErrLifted):
		openai.WriteError(w, &openai.Error{Code: openai.CodeConflict, Message: err.Error(), Err: err})
	case errors.As(err, &invalid), errors.Is(err, account.ErrInvalid), errors.Is(err, account.ErrBadExternalID):
		openai.WriteError(w, openai.Wrap(openai.CodeInvalidRequest, err, err.Error()))
	default:
		openai.WriteError(w, err)
	}
}

// notFoundMessage names what was not found from the error's context
// ("get tenant by name: not found" → "tenant not found").
func notFoundMessage(err error) string {
	msg := strings.TrimSuffix(err.Error(), ": "+store.ErrNotFound.Error())
	for _, verb := range []string{"get ", "delete ", "update ", "revoke ", "find "} {
		msg = strings.TrimPrefix(msg, verb)
	}
	msg = strings.TrimSuffix(msg, " by name")
	return msg + " not found"
}
