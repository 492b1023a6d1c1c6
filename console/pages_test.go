package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/staff"
)

var (
	// rawKey is a message key shown as text: a lookup that missed.
	rawKey       = regexp.MustCompile(`>\s*(?:nav|help|role|state|login|totp|enroll|error|range|dash|action|audit|policy|tenants|models|users|sanction|blacklist|complaints|staff|settings|review)\.[a-z_0-9.]*[a-z_0-9]\s*<`)
	inlineScript = regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>`)
	scriptSrc    = regexp.MustCompile(`(?i)<script\s+src="/console/static/app\.js"\s+defer>`)
	inlineAttr   = regexp.MustCompile(`(?i)\s(on[a-z]+|style)\s*=|javascript:`)
)

// pageProblems lists what is wrong with one console answer: a missing or
// loose Content-Security-Policy, missing security headers, and in HTML any
// script that is not the console's own file, event handler attributes,
// style attributes or javascript: URLs.
func pageProblems(h http.Header, body string) []string {
	var out []string
	if got := h.Get("Content-Security-Policy"); !strings.Contains(got, "script-src 'self'") || strings.Contains(got, "unsafe-inline") {
		out = append(out, fmt.Sprintf("CSP %q", got))
	}
	if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" {
		out = append(out, "missing security headers")
	}
	if !strings.Contains(h.Get("Content-Type"), "text/html") {
		return out
	}
	if n := len(inlineScript.FindAllString(body, -1)); n != len(scriptSrc.FindAllString(body, -1)) {
		out = append(out, fmt.Sprintf("%d script tags that are not the console's script", n))
	}
	if m := inlineAttr.FindString(body); m != "" {
		out = append(out, fmt.Sprintf("inline attribute %q", m))
	}
	return out
}

// TestNoInlineScriptAndCSP opens every page an admin can GET (and the
// login page), logged in and not, and checks the headers and that no page
// carries inline script, event handlers or style attributes, which the CSP
// would block. Every other console test checks each answer it gets the
// same way (browser.do), so the route enumeration of
// TestConsoleAuthorization covers every route, role, refusal and error.
func TestNoInlineScriptAndCSP(t *testing.T) {
	f := newFixture(t, staff.Options{})
	f.member("alice", staff.RoleAdmin)
	anon := f.browser()
	b := f.browser()
	if st := b.login("alice", password); st != http.StatusSeeOther {
		t.Fatal(st)
	}
	// Something on every page: a record, a staff action, a tenant.
	ctx := context.Background()
	if err := f.trail.Append(ctx, audit.Record{Route: "direct", Model: "m", Outcome: audit.OutcomeOK, Status: 200}); err != nil {
		t.Fatal(err)
	}
	b.do("POST", "/console/tenants", url.Values{"csrf": {b.csrf}, "name": {"shop"}})
	es, _ := f.trail.Search(ctx, audit.Query{Limit: 1})
	paths := []string{"/console/login", "/console/records/missing", "/console/audit/records/" + es[0].ID,
		"/console/policy/diff?from=&to=", "/console/users?tenant=default&user=nobody", "/console/staff/alice"}
	for _, rt := range f.console.Routes() {
		if m, p := concrete(rt.Pattern); m == "GET" && !strings.Contains(rt.Pattern, "{") {
			paths = append(paths, p)
		}
	}
	// browser.do checks every answer with pageProblems.
	for _, p := range paths {
		for _, who := range []*browser{anon, b} {
			who.do("GET", p, nil)
		}
	}
	// The session cookie is HttpOnly and SameSite=Strict.
	st, h, _ := f.browser().do("GET", "/console/login", nil)
	if c := h.Get("Set-Cookie"); st != 200 || !strings.Contains(c, "HttpOnly") || !strings.Contains(c, "SameSite=Strict") {
		t.Fatalf("login cookie %q", c)
	}
}

// TestLanguages: Chinese by default, English from the browser or the
// switch, and every message the pages use exists in both languages.
func TestLanguages(t *testing.T) {
	f := newFixture(t, staff.Options{})
	b := f.browser()
	if _, h, body := b.do("GET", "/console/login", nil); !strings.Contains(body, "登录") || h.Get("Content-Language") != "zh-CN" {
		t.Fatal("default is not Chinese")
	}
	req, _ := http.NewRequest("GET", f.url+"/console/login", nil)
	req.Header.Set("Accept-Language", "en-US,en;q=0.9")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Content-Language") != "en" {
		t.Fatalf("Accept-Language en gave %q", resp.Header.Get("Content-Language"))
	}
	if st, _, _ := b.do("POST", "/console/language", url.Values{"csrf": {b.csrf}, "lang": {"en"}, "next": {"/console/login"}}); st != http.StatusSeeOther {
		t.Fatalf("switch: %d", st)
	}
	if _, _, body := b.do("GET", "/console/login", nil); !strings.Contains(body, "Log in") {
		t.Fatal("the switch did not give English")
	}
	// Every page of every role renders without an untranslated key.
	f.member("alice", staff.RoleAdmin)
	a := f.browser()
	a.login("alice", password)
	for _, lang := range []string{"zh-CN", "en"} {
		a.do("POST", "/console/language", url.Values{"csrf": {a.csrf}, "lang": {lang}, "next": {"/console/"}})
		for _, rt := range f.console.Routes() {
			m, p := concrete(rt.Pattern)
			if m != "GET" || strings.Contains(rt.Pattern, "{") {
				continue
			}
			_, _, body := a.do("GET", p, nil)
			if k := rawKey.FindString(body); k != "" && !strings.Contains(k, ".yaml") {
				t.Errorf("%s in %s shows a raw message key %s", p, lang, k)
			}
		}
	}
}

// TestTOTPLogin: a role that requires TOTP enrols at first login; later
// logins ask for the code.
func TestTOTPLogin(t *testing.T) {
	f := newFixture(t, staff.Options{RequireTOTP: []staff.Role{staff.RoleAdmin}})
	f.member("root", staff.RoleAdmin)
	b := f.browser()
	b.do("GET", "/console/login", nil)
	st, h, _ := b.do("POST", "/console/login", url.Values{"csrf": {b.csrf}, "name": {"root"}, "password": {password}})
	if st != http.StatusSeeOther || h.Get("Location") != "/console/enroll" {
		t.Fatalf("first login: %d %s", st, h.Get("Location"))
	}
	b.csrf = ""
	if st, h, _ := b.do("GET", "/console/staff", nil); st != http.StatusSeeOther || h.Get("Location") != "/console/enroll" {
		t.Fatalf("pending enrolment opened a page: %d", st)
	}
	_, _, body := b.do("GET", "/console/enroll", nil)
	m := regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`).FindStringSubmatch(body)
	if m == nil || !strings.Contains(body, "data:image/png;base64,") {
		t.Fatal("no TOTP secret and QR code on the enrolment page")
	}
	code, _ := totp.GenerateCode(m[1], f.clock.Now())
	if st, _, _ := b.do("POST", "/console/enroll", url.Values{"csrf": {b.csrf}, "code": {code}}); st != http.StatusSeeOther {
		t.Fatalf("confirm: %d", st)
	}
	if st, _, _ := b.do("GET", "/console/staff", nil); st != 200 {
		t.Fatalf("after enrolment: %d", st)
	}
	f.clock.Add(time.Minute)
	c := f.browser()
	c.do("GET", "/console/login", nil)
	st, h, _ = c.do("POST", "/console/login", url.Values{"csrf": {c.csrf}, "name": {"root"}, "password": {password}})
	if st != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/console/login/totp") {
		t.Fatalf("second login: %d %s", st, h.Get("Location"))
	}
	c.csrf = ""
	c.do("GET", "/console/settings", nil) // redirected: pending
	_, _, page := c.do("GET", "/console/login/totp", nil)
	tok := csrfRe.FindStringSubmatch(page)
	if st, _, _ := c.do("POST", "/console/login/totp", url.Values{"csrf": {tok[1]}, "code": {"000000"}}); st != http.StatusUnauthorized {
		t.Fatalf("wrong code: %d", st)
	}
	code, _ = totp.GenerateCode(m[1], f.clock.Now())
	if st, _, _ := c.do("POST", "/console/login/totp", url.Values{"csrf": {tok[1]}, "code": {code}}); st != http.StatusSeeOther {
		t.Fatalf("right code: %d", st)
	}
	if st, _, _ := c.do("GET", "/console/staff", nil); st != 200 {
		t.Fatalf("after the code: %d", st)
	}
}
