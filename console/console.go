// Package console is Firebreak's web console at /console/: the place where
// staff work. It is served by the same binary, rendered on the server with
// html/template, with its CSS and a few hundred lines of hand-written
// JavaScript (keyboard shortcuts, partial page updates) embedded; charts
// are SVG drawn on the server. There is no build step and no third-party
// code in the browser.
//
// Every page is in Chinese (zh-CN) and English. Security: sessions are
// server-side (package staff) in an HttpOnly, SameSite=Strict cookie,
// Secure under TLS; every state change carries a CSRF token bound to the
// session; the Content-Security-Policy forbids inline script and style;
// html/template escapes everything; each route names the permission that
// opens it, and every change, refusal and view of decrypted content is a
// staff action on the audit trail.
package console

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/catalog"
	"github.com/firebreak/firebreak/identity"
	"github.com/firebreak/firebreak/kb"
	"github.com/firebreak/firebreak/policy"
	"github.com/firebreak/firebreak/review"
	"github.com/firebreak/firebreak/sanction"
	"github.com/firebreak/firebreak/staff"
	"github.com/firebreak/firebreak/store"
)

// Options configure the console. Staff and Accounts are required; a page
// whose service is nil answers 404.
type Options struct {
	Staff      *staff.Service
	Accounts   *account.Service
	Catalog    *catalog.Catalog
	Sanctions  *sanction.Service
	Policy     *policy.Service
	Trail      *audit.Trail
	Complaints *audit.Complaints
	// Review is the review desk; nil hides it.
	Review *review.Queue
	// KB holds the knowledge bases and grounded routes; nil hides them.
	KB *kb.Service
	// Identity tells an end user's real-name level on their page; nil
	// shows none.
	Identity IdentityReader
	// Verify checks the audit chain (audit.Verify over the store with the
	// signing keys); nil hides the verify button.
	Verify func(ctx context.Context) (audit.Report, error)
	// DB is the store, for the audit chain's verification when Verify is nil.
	DB *store.DB
	// ClientIPHeader names the header a trusted proxy sets to the client's
	// address, as for the gateway; "" uses the peer address.
	ClientIPHeader string
	// Logger receives errors that become a 500 page. Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// IdentityReader reads an end user's verification state
// (identity.Service).
type IdentityReader interface {
	State(ctx context.Context, userID string) (*identity.State, error)
}

// Route is one console route and the permission that opens it; "" means
// any logged-in member, Public means no login.
type Route struct {
	Pattern    string
	Permission staff.Permission
	// Scoped marks a route that keeps a member limited to tenants within
	// them; other routes are refused to such members unless Public or
	// personal.
	Scoped bool
}

// Public marks a route that needs no login (the login page, assets).
const Public staff.Permission = "public"

// Pending marks a route open to a session pending its second factor or
// TOTP enrolment.
const Pending staff.Permission = "pending"

type route struct {
	Route
	h func(w http.ResponseWriter, r *http.Request, p *staff.Principal)
	// maxBody bounds the request body; 0 is the default, 4 MiB.
	maxBody int64
}

// Console serves /console/.
type Console struct {
	opts  Options
	log   *slog.Logger
	pages *pages
	table []*route
	mux   *http.ServeMux
}

// New validates opts and parses the templates.
func New(opts Options) (*Console, error) {
	if opts.Staff == nil || opts.Accounts == nil {
		return nil, errors.New("console: Staff and Accounts are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Verify == nil && opts.DB != nil {
		db := opts.DB
		opts.Verify = func(ctx context.Context) (audit.Report, error) { return audit.Verify(ctx, db) }
	}
	ps, err := parsePages()
	if err != nil {
		return nil, err
	}
	c := &Console{opts: opts, log: opts.Logger, pages: ps}
	c.routes()
	return c, nil
}

// Routes lists every route the console serves.
func (c *Console) Routes() []Route {
	out := make([]Route, len(c.table))
	for i, rt := range c.table {
		out[i] = rt.Route
	}
	return out
}

func (c *Console) add(pattern string, perm staff.Permission, h func(http.ResponseWriter, *http.Request, *staff.Principal)) *route {
	rt := &route{Route: Route{Pattern: pattern, Permission: perm}, h: h}
	c.table = append(c.table, rt)
	return rt
}

func (c *Console) routes() {
	c.add("GET /console/static/{file}", Public, c.static)
	c.add("GET /console/login", Public, c.loginPage)
	c.add("POST /console/login", Public, c.login)
	c.add("GET /console/login/totp", Pending, c.totpPage)
	c.add("POST /console/login/totp", Pending, c.totpLogin)
	c.add("GET /console/enroll", Pending, c.enrollPage)
	c.add("POST /console/enroll", Pending, c.enroll)
	c.add("POST /console/logout", Pending, c.logout)
	c.add("POST /console/language", Public, c.setLanguage)
	c.add("GET /console/{$}", staff.ViewDashboard, c.dashboard).Scoped = true
	c.add("GET /console/settings", "", c.settings)
	c.add("POST /console/settings/password", "", c.changePassword)
	c.add("POST /console/settings/totp", "", c.beginTOTP)
	c.add("POST /console/settings/totp/disable", "", c.disableTOTP)
	c.add("POST /console/settings/tokens", "", c.createMyToken)
	c.add("POST /console/settings/tokens/{id}/revoke", "", c.revokeMyToken)
	c.add("POST /console/settings/sessions/{id}/revoke", "", c.revokeMySession)
	c.auditRoutes()
	c.policyRoutes()
	c.tenantRoutes()
	c.userRoutes()
	c.staffRoutes()
	c.reviewRoutes()
	c.kbRoutes()
	m := http.NewServeMux()
	for _, rt := range c.table {
		m.HandleFunc(rt.Pattern, c.handle(rt))
	}
	m.HandleFunc("/console/", func(w http.ResponseWriter, r *http.Request) {
		c.errorPage(w, r, nil, http.StatusNotFound)
	})
	c.mux = m
}

// ServeHTTP sets the security headers, refuses cross-site state changes,
// then serves the route.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	if r.TLS != nil {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	if !strings.HasPrefix(r.URL.Path, "/console/static/") {
		h.Set("Cache-Control", "no-store")
	}
	c.mux.ServeHTTP(w, r)
}

// csp allows only the console's own script, styles and images (and data:
// images for the TOTP QR code); no inline script or style.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

var staticFS = mustSub(embedded, "static")

func mustSub(f fs.FS, dir string) fs.FS {
	s, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return s
}

func (c *Console) static(w http.ResponseWriter, r *http.Request, _ *staff.Principal) {
	name := r.PathValue("file")
	b, err := fs.ReadFile(staticFS, name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	switch {
	case strings.HasSuffix(name, ".js"):
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	case strings.HasSuffix(name, ".css"):
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case strings.HasSuffix(name, ".svg"):
		w.Header().Set("Content-Type", "image/svg+xml")
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(b)
}
