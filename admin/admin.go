// Package admin is Firebreak's admin API: tenants, API keys, end users,
// upstreams, models and routing, policy, audit, complaints and staff, under
// /admin/v1/. Every call is made by a known person: it carries a personal
// staff token and is allowed by that member's role (the shared bootstrap
// token may only create admins); every change is recorded on the audit
// trail with its author. The `firebreak` CLI's admin commands are clients of this API, so a
// change made either way reaches the running server's caches at once.
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/catalog"
	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/kb"
	"github.com/firebreak/firebreak/openai"
	"github.com/firebreak/firebreak/policy"
	"github.com/firebreak/firebreak/review"
	"github.com/firebreak/firebreak/sanction"
	"github.com/firebreak/firebreak/staff"
	"github.com/prometheus/client_golang/prometheus"
)

// Options configure the admin API. Accounts, Catalog and Staff are required.
type Options struct {
	Accounts *account.Service
	Catalog  *catalog.Catalog
	// Staff authenticates callers by their personal tokens and holds the
	// staff accounts the staff endpoints manage.
	Staff *staff.Service
	// Sanctions, when set, adds the sanctions and blacklist endpoints.
	Sanctions *sanction.Service
	// Policy, when set, adds the policy endpoints (publish, rollback,
	// history, dry runs, coverage).
	Policy *policy.Service
	// Trail and Complaints, when set, add the audit, data-subject and
	// complaint endpoints; every staff action is recorded on Trail.
	Trail      *audit.Trail
	Complaints *audit.Complaints
	// Identity, when set, is asked to forget an end user's verification
	// on a deletion request.
	Identity IdentityForgetter
	// KB, when set, adds the knowledge base and grounding endpoints.
	KB *kb.Service
	// Review, when set, adds the review desk's grading-set endpoints.
	Review *review.Queue
	// Profiling serves the Go runtime's profiles (CPU, heap, goroutines,
	// mutex and block contention, execution traces) under
	// /admin/v1/debug/pprof/ to staff with the node.profile permission
	// (admins), each download recorded as a staff action. Default false.
	Profiling bool
	// Logger receives one line per admin call (who, what, outcome), and
	// one per failed authentication (never the token). Default: discard.
	Logger *slog.Logger
	// Registerer receives the admin API's metrics
	// (firebreak_admin_auth_failures_total). Default: a private registry.
	Registerer prometheus.Registerer
	// Now is the clock of action records. Default time.Now.
	Now func() time.Time
}

// IdentityForgetter deletes what is stored about an end user's identity
// (identity.Service).
type IdentityForgetter interface {
	Forget(ctx context.Context, userID string) error
}

// API serves /admin/v1/.
type API struct {
	accounts   *account.Service
	catalog    *catalog.Catalog
	staff      *staff.Service
	sanctions  *sanction.Service
	trail      *audit.Trail
	complaints *audit.Complaints
	identity   IdentityForgetter
	policy     *policy.Service
	kb         *kb.Service
	review     *review.Queue
	profiling  bool
	log        *slog.Logger
	authFails  *prometheus.CounterVec
	now        func() time.Time
	table      []*route
	mux        *http.ServeMux
}

// New validates opts and returns the admin API.
func New(opts Options) (*API, error) {
	if opts.Accounts == nil || opts.Catalog == nil || opts.Staff == nil {
		return nil, errors.New("admin: Accounts, Catalog and Staff are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Registerer == nil {
		opts.Registerer = prometheus.NewRegistry()
	}
	authFails := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "firebreak_admin_auth_failures_total",
		Help: "Admin API calls refused for a missing or invalid token, by reason."}, []string{"reason"})
	if err := opts.Registerer.Register(authFails); err != nil {
		return nil, fmt.Errorf("admin: metrics: %w", err)
	}
	a := &API{accounts: opts.Accounts, catalog: opts.Catalog, staff: opts.Staff, sanctions: opts.Sanctions,
		trail: opts.Trail, complaints: opts.Complaints, identity: opts.Identity, policy: opts.Policy, kb: opts.KB, review: opts.Review, profiling: opts.Profiling,
		log: opts.Logger, authFails: authFails, now: opts.Now}
	a.routes()
	return a, nil
}

// perms shortens route tables.
func perms(p ...staff.Permission) []staff.Permission { return p }

func (a *API) routes() {
	add := func(pattern string, ps []staff.Permission, h http.HandlerFunc) {
		a.table = append(a.table, &route{Route: Route{Pattern: pattern, Permissions: ps}, h: h})
	}
	// viewContent adds a read of decrypted personal data: it is recorded like a change.
	viewContent := func(pattern string, ps []staff.Permission, h http.HandlerFunc) {
		a.table = append(a.table, &route{Route: Route{Pattern: pattern, Permissions: ps}, content: true, h: h})
	}
	tenants, manageTenants := perms(staff.ViewTenants), perms(staff.ManageTenants)
	catalogView, catalogManage := perms(staff.ViewCatalog), perms(staff.ManageCatalog)
	add("GET /admin/v1/tenants", tenants, a.listTenants)
	add("POST /admin/v1/tenants", manageTenants, a.createTenant)
	add("GET /admin/v1/tenants/{tenant}", tenants, a.getTenant)
	add("PATCH /admin/v1/tenants/{tenant}", manageTenants, a.updateTenant)
	add("DELETE /admin/v1/tenants/{tenant}", manageTenants, a.deleteTenant)
	add("GET /admin/v1/tenants/{tenant}/keys", tenants, a.listKeys)
	add("POST /admin/v1/tenants/{tenant}/keys", manageTenants, a.createKey)
	add("GET /admin/v1/tenants/{tenant}/users", perms(staff.ViewUsers), a.listUsers)
	add("DELETE /admin/v1/keys/{key}", manageTenants, a.revokeKey)
	add("GET /admin/v1/upstreams", catalogView, a.listUpstreams)
	add("PUT /admin/v1/upstreams/{name}", catalogManage, a.putUpstream)
	add("DELETE /admin/v1/upstreams/{name}", catalogManage, a.deleteUpstream)
	add("GET /admin/v1/models", catalogView, a.listModels)
	add("PUT /admin/v1/models/{name}", catalogManage, a.putModel)
	add("DELETE /admin/v1/models/{name}", catalogManage, a.deleteModel)
	add("GET /admin/v1/routing", catalogView, a.getRouting)
	add("PUT /admin/v1/routing", catalogManage, a.putRouting)
	add("GET /admin/v1/health", perms(staff.ViewDashboard), a.health)
	if a.sanctions != nil {
		users, sanction := perms(staff.ViewUsers), perms(staff.ManageSanctions)
		add("GET /admin/v1/tenants/{tenant}/users/{user}", users, a.getStanding)
		add("POST /admin/v1/tenants/{tenant}/users/{user}/sanctions", sanction, a.imposeSanction)
		add("POST /admin/v1/sanctions/{id}/lift", sanction, a.liftSanction)
		add("GET /admin/v1/blacklist", users, a.listBlacklist)
		add("POST /admin/v1/blacklist", sanction, a.addBlacklist)
		add("DELETE /admin/v1/blacklist/{id}", sanction, a.removeBlacklist)
	}
	if a.trail != nil {
		add("GET /admin/v1/audit", perms(staff.ViewAudit), a.searchAudit)
		add("GET /admin/v1/audit/export", perms(staff.ViewAudit), a.exportAudit)
		viewContent("GET /admin/v1/tenants/{tenant}/users/{user}/records", perms(staff.ViewContent), a.userRecords)
		add("DELETE /admin/v1/tenants/{tenant}/users/{user}/records", perms(staff.EraseContent), a.forgetUser)
	}
	if a.policy != nil {
		h := policyAPI{svc: a.policy, trail: a.trail}
		view, manage := perms(staff.ViewPolicy), perms(staff.ManagePolicy)
		add("GET /admin/v1/policy", view, h.status)
		add("GET /admin/v1/policy/history", view, h.history)
		add("GET /admin/v1/policy/versions/{version}", view, h.version)
		add("GET /admin/v1/policy/coverage", view, h.coverage)
		add("POST /admin/v1/policy/validate", view, h.validate)
		add("POST /admin/v1/policy/dryrun", manage, h.dryRun)
		add("POST /admin/v1/policy/publish", manage, h.publish)
		add("POST /admin/v1/policy/rollback", manage, h.rollback)
	}
	if a.complaints != nil {
		viewContent("GET /admin/v1/complaints", perms(staff.ViewComplaints), a.listComplaints)
		viewContent("GET /admin/v1/complaints/{id}", perms(staff.ViewComplaints), a.getComplaint)
		add("PATCH /admin/v1/complaints/{id}", perms(staff.AnswerComplaint), a.updateComplaint)
	}
	a.staffRoutes(add)
	a.kbRoutes(add)
	a.reviewRoutes(add)
	if a.profiling {
		// content: every download is recorded like a change.
		a.table = append(a.table, &route{Route: Route{Pattern: "GET /admin/v1/debug/pprof/{name...}",
			Permissions: perms(staff.ProfileNode)}, content: true, h: profile})
	}
	m := http.NewServeMux()
	for _, rt := range a.table {
		m.HandleFunc(rt.Pattern, a.handle(rt))
	}
	m.HandleFunc("/admin/", func(w http.ResponseWriter, r *http.Request) {
		openai.WriteError(w, clienterr.Errorf(clienterr.NotFound, "unknown admin endpoint %s %s", r.Method, r.URL.Path))
	})
	a.mux = m
}

// ServeHTTP authenticates the caller, then serves the call.
//
// Every call gets a request id minted here (a client's X-Request-Id is
// not taken: it would go on the audit trail as the client wrote it). A
// caller that failed to authenticate is logged and recorded by the route
// its call matched, never by its path, which the caller wrote.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := "adm_" + audit.NewID(a.now())
	w.Header().Set("X-Request-Id", id)
	r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id))
	p, err := a.authenticate(r)
	if err != nil {
		reason := "invalid"
		if bearer(r) == "" {
			reason = "missing"
		}
		_, route := a.mux.Handler(r)
		if route == "" {
			route = "unknown"
		}
		a.authFails.WithLabelValues(reason).Inc()
		a.log.Warn("admin authentication failed", "request_id", id, "route", route, "reason", reason,
			"remote", r.RemoteAddr, "status", clienterr.As(err).Code)
		openai.WriteError(w, err)
		if a.trail != nil && r.Header.Get("Authorization") != "" {
			a.recordAs(r, nil, "authenticate", route, http.StatusUnauthorized, &actionNote{})
		}
		return
	}
	sw := &recorder{ResponseWriter: w, status: http.StatusOK}
	a.mux.ServeHTTP(sw, r.WithContext(WithPrincipal(r.Context(), p)))
	a.log.Info("admin", "method", r.Method, "path", r.URL.Path, "actor", p.Actor(), "status", sw.status)
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
func decode(r *http.Request, v any) error { return decodeLimit(r, v, 1<<20) }

// decodeLimit is decode with another limit: bundles exceed 1 MiB. The
// decoder's message names the offending field or byte, and is the
// client's own input.
func decodeLimit(r *http.Request, v any, limit int64) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return clienterr.Wrap(clienterr.InvalidJSON, err, "invalid JSON body: "+err.Error())
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

// fail writes err as an error response. Domains return clienterr errors
// (or errors that know their code); anything else is an internal error
// whose text stays in the log.
func fail(w http.ResponseWriter, err error) { openai.WriteError(w, err) }
