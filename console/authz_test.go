package console_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/firebreak/firebreak/console"
	"github.com/firebreak/firebreak/staff"
)

// concrete fills a route pattern's wildcards: "GET /console/staff/{name}"
// becomes the method and a path with placeholder values.
func concrete(pattern string) (method, path string) {
	method, path, _ = strings.Cut(pattern, " ")
	path = strings.ReplaceAll(path, "{$}", "")
	path = strings.ReplaceAll(path, "{file}", "app.css")
	for strings.Contains(path, "{") {
		i, j := strings.Index(path, "{"), strings.Index(path, "}")
		path = path[:i] + "x" + path[j+1:]
	}
	return method, path
}

// TestConsoleAuthorization enumerates every console route from the
// console's own route table and checks it for every role, for a member
// limited to a tenant, without a session, with a bad CSRF token and with
// an expired session.
func TestConsoleAuthorization(t *testing.T) {
	f := newFixture(t, staff.Options{SessionIdle: 30 * 60e9})
	roles := map[string]staff.Role{"admin": staff.RoleAdmin, "policy": staff.RolePolicy, "reviewer": staff.RoleReviewer, "senior": staff.RoleSenior,
		"auditor": staff.RoleAuditor, "viewer": staff.RoleViewer, "limited": staff.RoleAuditor}
	browsers := map[string]*browser{}
	for name, role := range roles {
		var tenants []string
		if name == "limited" {
			tenants = []string{"ten_x"}
		}
		f.member(name, role, tenants...)
		browsers[name] = f.browser()
		if st := browsers[name].login(name, password); st != http.StatusSeeOther {
			t.Fatalf("login %s: %d", name, st)
		}
	}
	routes := f.console.Routes()
	if len(routes) < 40 {
		t.Fatalf("only %d console routes", len(routes))
	}
	anon := f.browser()
	for _, rt := range routes {
		method, path := concrete(rt.Pattern)
		if rt.Pattern == "POST /console/logout" || rt.Pattern == "POST /console/settings/password" {
			continue // they end the session; covered by their own tests
		}
		for name, role := range roles {
			if rt.Pattern == "POST /console/login" || rt.Pattern == "POST /console/login/totp" {
				break // login steps: a full session has nothing to log in to (TestLoginLogout, TestTOTPLogin)
			}
			b := browsers[name]
			var form url.Values
			if method != "GET" {
				form = url.Values{"csrf": {b.csrf}}
			}
			st, _, _ := b.do(method, path, form)
			allowed := allowedFor(rt, role, name == "limited")
			refused := st == http.StatusForbidden || (st == http.StatusUnauthorized && rt.Permission != console.Public)
			if allowed && refused {
				t.Errorf("%s: %s was refused (%d)", rt.Pattern, name, st)
			}
			if !allowed && st != http.StatusForbidden {
				t.Errorf("%s: %s got %d, want 403", rt.Pattern, name, st)
			}
			if method != "GET" && rt.Permission != console.Public {
				if st, _, _ := b.do(method, path, url.Values{"csrf": {"0123456789abcdef0123456789abcdef"}}); st != http.StatusForbidden {
					t.Errorf("%s: %s with a bad CSRF token got %d, want 403", rt.Pattern, name, st)
				}
			}
		}
		if rt.Permission == console.Public {
			continue
		}
		var form url.Values
		if method != "GET" {
			form = url.Values{"csrf": {"x"}}
		}
		if st, _, _ := anon.do(method, path, form); st != http.StatusSeeOther && st != http.StatusUnauthorized && st != http.StatusForbidden {
			t.Errorf("%s without a session: %d", rt.Pattern, st)
		}
	}
	// Past the idle timeout every session is refused everywhere.
	f.clock.Add(31 * 60e9)
	b := browsers["admin"]
	for _, rt := range routes {
		if rt.Permission == console.Public {
			continue
		}
		method, path := concrete(rt.Pattern)
		var form url.Values
		if method != "GET" {
			form = url.Values{"csrf": {b.csrf}}
		}
		if st, _, _ := b.do(method, path, form); st != http.StatusSeeOther && st != http.StatusUnauthorized {
			t.Errorf("%s with an expired session: %d", rt.Pattern, st)
		}
	}
}

func allowedFor(rt console.Route, role staff.Role, limited bool) bool {
	switch rt.Permission {
	case console.Public, console.Pending, "":
		return true
	}
	return role.Can(rt.Permission) && (!limited || rt.Scoped)
}

// TestAdminAuthorization enumerates every admin API route from the API's
// own route table and checks it for every role's personal token, no
// token, a made-up token, an admin's expired token and an admin's revoked
// token.
func TestAdminAuthorization(t *testing.T) {
	f := newFixture(t, staff.Options{})
	tokens := map[staff.Role]string{}
	for _, role := range staff.Roles {
		f.member(string(role), role)
		tokens[role] = f.token(string(role))
	}
	// An admin's token that expired and one that was revoked open nothing.
	ctx := context.Background()
	root, err := f.staff.ByName(ctx, string(staff.RoleAdmin))
	if err != nil {
		t.Fatal(err)
	}
	_, expired, err := f.staff.CreateToken(ctx, root.ID, "short", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tok, revoked, err := f.staff.CreateToken(ctx, root.ID, "revoked", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.staff.RevokeToken(ctx, root.ID, tok.ID); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(time.Hour + time.Second)
	routes := f.admin.Routes()
	if len(routes) < 50 {
		t.Fatalf("only %d admin routes", len(routes))
	}
	call := func(token, method, path string) int {
		req, _ := http.NewRequest(method, f.url+path, strings.NewReader("{}"))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, rt := range routes {
		method, path := concrete(rt.Pattern)
		if rt.Pattern == "DELETE /admin/v1/bootstrap" {
			continue
		}
		for role, token := range tokens {
			allowed := len(rt.Permissions) == 0
			for _, p := range rt.Permissions {
				allowed = allowed || role.Can(p)
			}
			st := call(token, method, path)
			if allowed && (st == http.StatusForbidden || st == http.StatusUnauthorized) {
				t.Errorf("%s: %s was refused (%d)", rt.Pattern, role, st)
			}
			if !allowed && st != http.StatusForbidden {
				t.Errorf("%s: %s got %d, want 403", rt.Pattern, role, st)
			}
		}
		if st := call("", method, path); st != http.StatusUnauthorized {
			t.Errorf("%s without a token: %d", rt.Pattern, st)
		}
		for name, token := range map[string]string{"a made-up": "fbs_nope_nope", "an expired": expired, "a revoked": revoked} {
			if st := call(token, method, path); st != http.StatusUnauthorized {
				t.Errorf("%s with %s token: %d", rt.Pattern, name, st)
			}
		}
	}
}
