package console_test

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/admin"
	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/catalog"
	"github.com/firebreak/firebreak/console"
	"github.com/firebreak/firebreak/internal/testclock"
	"github.com/firebreak/firebreak/kb"
	"github.com/firebreak/firebreak/policy"
	"github.com/firebreak/firebreak/review"
	"github.com/firebreak/firebreak/sanction"
	"github.com/firebreak/firebreak/staff"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

const password = "correct horse battery"

// fixture is the console and the admin API over real services on a
// SQLite store, with a settable clock for session expiry.
type fixture struct {
	t          testing.TB
	url        string
	clock      *testclock.Clock
	staff      *staff.Service
	trail      *audit.Trail
	policy     *policy.Service
	console    *console.Console
	admin      *admin.API
	review     *review.Queue
	complaints *audit.Complaints
}

func newFixture(t testing.TB, opts staff.Options, with ...func(*console.Options)) *fixture {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t, store.Options{DataDir: t.TempDir()})
	clock := testclock.New(time.Now())
	accounts, err := account.New(account.Options{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { accounts.Close() })
	if _, err := accounts.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.New(ctx, catalog.Options{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	sanctions, err := sanction.New(ctx, sanction.Options{DB: db, Secret: []byte("a secret of sufficient length")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sanctions.Close() })
	pol, err := policy.New(ctx, policy.Options{DB: db, Fallback: policy.Default()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pol.Close() })
	// Flagged content is kept encrypted, as a deployment with a keyring
	// keeps it: the policy dry run replays it.
	keys, err := audit.ParseKeyring(strings.NewReader("k1:" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))))
	if err != nil {
		t.Fatal(err)
	}
	trail, err := audit.New(audit.Options{DB: db, Keys: keys, CheckpointEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { trail.Close() })
	complaints, err := audit.NewComplaints(audit.ComplaintOptions{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	opts.DB, opts.Secret, opts.Now = db, []byte("sixteen byte secret!"), clock.Now
	opts.Argon2 = staff.Argon2{Memory: 64, Time: 1, Threads: 1}
	if opts.LoginRate == 0 {
		opts.LoginRate = 1000
	}
	people, err := staff.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	bases, err := kb.New(ctx, kb.Options{DB: db, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bases.Close)
	api, err := admin.New(admin.Options{Accounts: accounts, Catalog: cat, Staff: people, Sanctions: sanctions,
		Policy: pol, Trail: trail, Complaints: complaints, KB: bases, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	desk, err := review.New(review.Options{DB: db, Trail: trail, Sanctions: sanctions, Complaints: complaints, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	copts := console.Options{Staff: people, Accounts: accounts, Catalog: cat, Sanctions: sanctions,
		Policy: pol, Trail: trail, Complaints: complaints, Review: desk, KB: bases, DB: db, Now: clock.Now}
	for _, w := range with {
		w(&copts)
	}
	con, err := console.New(copts)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/admin/", api)
	mux.Handle("/console/", con)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &fixture{t: t, url: srv.URL, clock: clock, staff: people, trail: trail, policy: pol, console: con, admin: api, review: desk,
		complaints: complaints}
}

// browser is a cookie-keeping client that does not follow redirects.
type browser struct {
	f    *fixture
	c    *http.Client
	csrf string
}

func (f *fixture) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{f: f, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

var csrfRe = regexp.MustCompile(`name="csrf-token" content="([0-9a-f]*)"`)

// do sends a request and returns the status, headers and body; it keeps
// the page's CSRF token for the next form.
func (b *browser) do(method, path string, form url.Values) (int, http.Header, string) {
	b.f.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.f.url+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return b.send(req)
}

// send sends a request in the browser and checks its answer.
func (b *browser) send(req *http.Request) (int, http.Header, string) {
	b.f.t.Helper()
	method, path := req.Method, req.URL.Path
	resp, err := b.c.Do(req)
	if err != nil {
		b.f.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	// Every answer of every console test, whatever the route, status or
	// role, carries the strict CSP and, when it is HTML, no inline script.
	for _, problem := range pageProblems(resp.Header, string(raw)) {
		b.f.t.Errorf("%s %s (%d): %s", method, path, resp.StatusCode, problem)
	}
	if m := csrfRe.FindSubmatch(raw); m != nil && len(m[1]) > 0 && (b.csrf == "" || !strings.HasPrefix(path, "/console/login")) {
		b.csrf = string(m[1])
	}
	return resp.StatusCode, resp.Header, string(raw)
}

// login logs in through the login form.
func (b *browser) login(name, pw string) int {
	b.f.t.Helper()
	b.csrf = ""
	b.do("GET", "/console/login", nil)
	st, _, _ := b.do("POST", "/console/login", url.Values{"csrf": {b.csrf}, "name": {name}, "password": {pw}})
	b.csrf = ""
	if st == http.StatusSeeOther {
		b.do("GET", "/console/settings", nil) // pick up the session's CSRF token
	}
	return st
}

func (f *fixture) member(name string, role staff.Role, tenants ...string) {
	f.t.Helper()
	if _, err := f.staff.Create(context.Background(), staff.NewMember{Name: name, Role: role, Tenants: tenants, Password: password}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) token(name string) string {
	f.t.Helper()
	m, err := f.staff.ByName(context.Background(), name)
	if err != nil {
		f.t.Fatal(err)
	}
	_, secret, err := f.staff.CreateToken(context.Background(), m.ID, "test", 0)
	if err != nil {
		f.t.Fatal(err)
	}
	return secret
}

func TestLoginLogout(t *testing.T) {
	f := newFixture(t, staff.Options{MaxFailures: 3})
	f.member("alice", staff.RoleAdmin)
	b := f.browser()
	if st, h, _ := b.do("GET", "/console/", nil); st != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/console/login") {
		t.Fatalf("no session: %d %s", st, h.Get("Location"))
	}
	// The login form needs its CSRF token.
	b.do("GET", "/console/login", nil)
	if st, _, _ := b.do("POST", "/console/login", url.Values{"name": {"alice"}, "password": {password}}); st != http.StatusForbidden {
		t.Fatalf("login without CSRF token: %d", st)
	}
	for i := range 3 {
		st, _, body := b.do("POST", "/console/login", url.Values{"csrf": {b.csrf}, "name": {"alice"}, "password": {"wrong password!"}})
		want := "用户名或密码错误"
		if i == 2 {
			want = "锁定"
		}
		if st != http.StatusUnauthorized || !strings.Contains(body, want) {
			t.Fatalf("failure %d: %d, want %q in the page", i+1, st, want)
		}
	}
	if st := b.login("alice", password); st != http.StatusUnauthorized {
		t.Fatalf("locked account logged in: %d", st)
	}
	f.clock.Add(16 * time.Minute)
	if st := b.login("alice", password); st != http.StatusSeeOther {
		t.Fatalf("login after the lockout: %d", st)
	}
	if st, _, body := b.do("GET", "/console/", nil); st != 200 || !strings.Contains(body, "仪表盘") {
		t.Fatalf("dashboard: %d", st)
	}
	if st, _, _ := b.do("POST", "/console/logout", url.Values{"csrf": {b.csrf}}); st != http.StatusSeeOther {
		t.Fatalf("logout: %d", st)
	}
	if st, _, _ := b.do("GET", "/console/", nil); st != http.StatusSeeOther {
		t.Fatalf("after logout: %d", st)
	}
	// Logins, failures and the logout are staff actions on the trail.
	es, err := f.trail.Search(context.Background(), audit.Query{Route: audit.RouteStaff, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var denied, ok, logout int
	for _, e := range es {
		a, _ := e.Action()
		switch {
		case a.Name == "console login" && a.Outcome == audit.OutcomeDenied:
			denied++
		case a.Name == "console login":
			ok++
		case a.Name == "console POST /console/logout":
			logout++
		}
	}
	if denied != 4 || ok != 1 || logout != 1 {
		t.Fatalf("recorded %d failed logins, %d logins, %d logouts", denied, ok, logout)
	}
}

func TestSessionTimeouts(t *testing.T) {
	f := newFixture(t, staff.Options{SessionIdle: 10 * time.Minute, SessionMax: time.Hour})
	f.member("ann", staff.RoleAuditor)
	b := f.browser()
	if st := b.login("ann", password); st != http.StatusSeeOther {
		t.Fatal(st)
	}
	for range 5 { // used every 9 minutes: alive
		f.clock.Add(9 * time.Minute)
		if st, _, _ := b.do("GET", "/console/audit", nil); st != 200 {
			t.Fatalf("active session: %d", st)
		}
	}
	f.clock.Add(16 * time.Minute) // past the absolute hour
	if st, _, _ := b.do("GET", "/console/audit", nil); st != http.StatusSeeOther {
		t.Fatalf("after the absolute timeout: %d", st)
	}
	b.login("ann", password)
	f.clock.Add(11 * time.Minute)
	if st, _, _ := b.do("GET", "/console/audit", nil); st != http.StatusSeeOther {
		t.Fatalf("after the idle timeout: %d", st)
	}
}

// TestLoginThrottleBehindProxy: behind a trusted proxy the console counts
// login attempts per client address from the proxy's header (as the
// gateway reads it), so one client's guesses do not lock everyone out;
// the page answers 429 in the member's language.
func TestLoginThrottleBehindProxy(t *testing.T) {
	f := newFixture(t, staff.Options{LoginRate: 3, MaxFailures: 100}, func(o *console.Options) { o.ClientIPHeader = "X-Real-IP" })
	f.member("alice", staff.RoleViewer)
	attempt := func(ip, pw string) int {
		t.Helper()
		b := f.browser()
		b.do("GET", "/console/login", nil)
		req, _ := http.NewRequest("POST", f.url+"/console/login", strings.NewReader(url.Values{"csrf": {b.csrf},
			"name": {"alice"}, "password": {pw}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Real-IP", ip)
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, problem := range pageProblems(resp.Header, string(body)) {
			t.Errorf("login answer: %s", problem)
		}
		return resp.StatusCode
	}
	for i := range 3 {
		if st := attempt("203.0.113.7", "wrong password!"); st == http.StatusTooManyRequests || st == http.StatusSeeOther {
			t.Fatalf("guess %d: %d", i+1, st)
		}
	}
	if st := attempt("203.0.113.7", password); st != http.StatusTooManyRequests {
		t.Fatalf("the guessing client's 4th attempt: %d, want 429", st)
	}
	if st := attempt("203.0.113.8", password); st != http.StatusSeeOther {
		t.Fatalf("another client behind the same proxy: %d, want 303 (logged in)", st)
	}
}
