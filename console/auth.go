package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/internal/clientip"
	"github.com/firebreak/firebreak/staff"
)

const (
	sessionCookie = "fb_session"
	loginCookie   = "fb_login" // binds the login form's CSRF token before a session exists
	langCookie    = "fb_lang"
	csrfField     = "csrf"
	csrfHeader    = "X-CSRF-Token"
)

// csrfToken derives the CSRF token of a cookie value: a page carries it,
// a cross-site page cannot compute it without the HttpOnly cookie.
func csrfToken(cookie string) string {
	sum := sha256.Sum256([]byte("firebreak console csrf\x00" + cookie))
	return hex.EncodeToString(sum[:16])
}

func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/console/", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, MaxAge: int(maxAge.Seconds())})
}

func clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/console/", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, MaxAge: -1})
}

func cookie(r *http.Request, name string) string {
	if c, err := r.Cookie(name); err == nil {
		return c.Value
	}
	return ""
}

// csrfOK checks a state-changing request's token against the cookie it
// must be bound to, and that a browser-sent Origin is this host.
func csrfOK(r *http.Request, bound string) bool {
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return false
		}
	}
	got := r.Header.Get(csrfHeader)
	if got == "" {
		got = r.PostFormValue(csrfField)
	}
	return bound != "" && subtle.ConstantTimeCompare([]byte(got), []byte(csrfToken(bound))) == 1
}

// clientOf is the client of a request: its address (from the trusted
// proxy's header when one is configured, as the gateway reads it) keys the
// login throttle and is kept with the session.
func (c *Console) clientOf(r *http.Request) staff.Client {
	ip := ""
	if a := clientip.From(r, c.opts.ClientIPHeader); a.IsValid() {
		ip = a.String()
	}
	return staff.Client{IP: ip, UserAgent: r.UserAgent()}
}

// handle authenticates, checks permission and CSRF, runs the route and
// records the action: changes, refusals and content views.
func (c *Console) handle(rt *route) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		limit := int64(4 << 20)
		if rt.maxBody > 0 {
			limit = rt.maxBody
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		var p *staff.Principal
		if rt.Permission != Public {
			var err error
			p, err = c.opts.Staff.Authenticate(r.Context(), cookie(r, sessionCookie))
			if err != nil {
				if !errors.Is(err, staff.ErrNoSession) {
					c.fail(w, r, nil, err)
					return
				}
				c.toLogin(w, r)
				return
			}
		}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		change := r.Method != http.MethodGet && r.Method != http.MethodHead
		switch {
		case change && formTooLarge(r):
			c.errorPage(sw, r, p, http.StatusRequestEntityTooLarge)
		case change && rt.Permission != Public && !csrfOK(r, cookie(r, sessionCookie)):
			c.errorPage(sw, r, p, http.StatusForbidden)
		case p != nil && p.Pending != staff.PendingNone && rt.Permission != Pending:
			next := "/console/login/totp"
			if p.Pending == staff.PendingEnroll {
				next = "/console/enroll"
			}
			http.Redirect(w, r, next, http.StatusSeeOther)
			return
		case !c.allowed(p, rt):
			c.errorPage(sw, r, p, http.StatusForbidden)
		default:
			rt.h(sw, r, p)
		}
		if p != nil && (change || sw.status == http.StatusForbidden) && rt.Pattern != "POST /console/logout" {
			c.record(r, p, rt.Pattern, sw.status, sw.details)
		}
	}
}

// formTooLarge reads a change's form, and reports whether its body was
// over the route's limit: the form, CSRF token included, is then unread.
func formTooLarge(r *http.Request) bool {
	var err error
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		err = r.ParseMultipartForm(32 << 20)
	} else {
		err = r.ParseForm()
	}
	var tooBig *http.MaxBytesError
	return errors.As(err, &tooBig)
}

func (c *Console) allowed(p *staff.Principal, rt *route) bool {
	switch rt.Permission {
	case Public:
		return true
	case Pending:
		return p != nil
	case "":
		return p.Pending == staff.PendingNone
	}
	if !p.Can(rt.Permission) {
		return false
	}
	return !p.Member.Limited() || rt.Scoped
}

// toLogin sends a browser without a valid session to the login page, and
// a script (a partial update) a 401.
func (c *Console) toLogin(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Requested-With") != "" || r.Method != http.MethodGet {
		c.errorPage(w, r, nil, http.StatusUnauthorized)
		return
	}
	http.Redirect(w, r, "/console/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
}

// statusWriter remembers the status and the details a handler adds to
// the record of its action.
type statusWriter struct {
	http.ResponseWriter
	status  int
	details []string
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// note adds a detail ("reason=…") to the record of the request's action.
func note(w http.ResponseWriter, key, value string) {
	if s, ok := w.(*statusWriter); ok && value != "" {
		s.details = append(s.details, key+"="+value)
	}
}

// record appends a staff action to the audit trail; a failure is logged.
func (c *Console) record(r *http.Request, p *staff.Principal, name string, status int, details []string) {
	if c.opts.Trail == nil {
		return
	}
	a := audit.Action{Time: c.opts.Now(), Name: "console " + name, Target: r.URL.Path, Status: status,
		Outcome: outcomeOf(status), Details: details}
	if p != nil {
		a.Actor, a.Via = p.Actor(), p.Via+":"+p.CredentialID
	} else {
		a.Via = "password"
	}
	if err := c.opts.Trail.Append(r.Context(), a.Record()); err != nil {
		c.log.Error("record staff action", "action", name, "err", err)
	}
}

func outcomeOf(status int) string {
	switch {
	case status < 400:
		return audit.OutcomeOK
	case status == http.StatusUnauthorized || status == http.StatusForbidden || status == http.StatusTooManyRequests:
		return audit.OutcomeDenied
	}
	return audit.OutcomeFailed
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request, _ *staff.Principal) {
	bound := cookie(r, loginCookie)
	if bound == "" {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		bound = hex.EncodeToString(b)
		setCookie(w, r, loginCookie, bound, time.Hour)
	}
	c.render(w, r, nil, "login", "login.title", loginView{Next: safeNext(r.URL.Query().Get("next")), CSRF: csrfToken(bound)})
}

type loginView struct {
	Next, CSRF, Error, Name string
}

// safeNext keeps a post-login redirect inside the console.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/console/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/console/"
	}
	return next
}

func (c *Console) login(w http.ResponseWriter, r *http.Request, _ *staff.Principal) {
	bound := cookie(r, loginCookie)
	if !csrfOK(r, bound) {
		c.errorPage(w, r, nil, http.StatusForbidden)
		return
	}
	name, next := r.PostFormValue("name"), safeNext(r.PostFormValue("next"))
	ses, m, err := c.opts.Staff.Login(r.Context(), name, r.PostFormValue("password"), c.clientOf(r))
	a := audit.Action{Time: c.opts.Now(), Name: "console login", Target: "/console/login", Via: "password", Status: http.StatusSeeOther}
	if m != nil {
		a.Actor = m.Name
	} else {
		// A name that is no member's is not recorded: it is as often a
		// password typed into the wrong field, and the trail keeps it.
		a.Details = []string{"name=unknown"}
	}
	if err != nil {
		status, key := http.StatusUnauthorized, "login.bad"
		switch {
		case errors.Is(err, staff.ErrLocked):
			key = "login.locked"
		case errors.Is(err, staff.ErrThrottled):
			status, key = http.StatusTooManyRequests, "login.throttled"
		case !errors.Is(err, staff.ErrBadCredentials):
			c.fail(w, r, nil, err)
			return
		}
		a.Status, a.Outcome = status, audit.OutcomeDenied
		c.appendAction(r, a)
		w.WriteHeader(status)
		c.render(w, r, nil, "login", "login.title", loginView{Next: next, CSRF: csrfToken(bound), Error: key, Name: name})
		return
	}
	a.Outcome = audit.OutcomeOK
	if ses.Pending == staff.PendingTOTP {
		a.Details = append(a.Details, "pending=totp")
	}
	c.appendAction(r, a)
	clearCookie(w, r, loginCookie)
	setCookie(w, r, sessionCookie, ses.Secret, c.opts.Staff.SessionMax())
	switch ses.Pending {
	case staff.PendingTOTP:
		next = "/console/login/totp?next=" + url.QueryEscape(next)
	case staff.PendingEnroll:
		next = "/console/enroll"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) appendAction(r *http.Request, a audit.Action) {
	if c.opts.Trail == nil {
		return
	}
	if err := c.opts.Trail.Append(r.Context(), a.Record()); err != nil {
		c.log.Error("record staff action", "action", a.Name, "err", err)
	}
}

func (c *Console) totpPage(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	if p.Pending != staff.PendingTOTP {
		http.Redirect(w, r, "/console/", http.StatusSeeOther)
		return
	}
	c.render(w, r, p, "totp", "totp.title", loginView{Next: safeNext(r.URL.Query().Get("next"))})
}

func (c *Console) totpLogin(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	next := safeNext(r.PostFormValue("next"))
	ses, _, err := c.opts.Staff.SecondFactor(r.Context(), cookie(r, sessionCookie), strings.TrimSpace(r.PostFormValue("code")), c.clientOf(r))
	if err != nil {
		key := "totp.bad"
		switch {
		case errors.Is(err, staff.ErrLocked):
			key = "login.locked"
		case errors.Is(err, staff.ErrThrottled):
			key = "login.throttled"
		case errors.Is(err, staff.ErrNoSession):
			c.toLogin(w, r)
			return
		case !errors.Is(err, staff.ErrBadCredentials):
			c.fail(w, r, p, err)
			return
		}
		w.WriteHeader(http.StatusUnauthorized)
		c.render(w, r, p, "totp", "totp.title", loginView{Next: next, Error: key})
		return
	}
	setCookie(w, r, sessionCookie, ses.Secret, c.opts.Staff.SessionMax())
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	if err := c.opts.Staff.Logout(r.Context(), cookie(r, sessionCookie)); err != nil {
		c.fail(w, r, p, err)
		return
	}
	c.record(r, p, "POST /console/logout", http.StatusSeeOther, nil)
	clearCookie(w, r, sessionCookie)
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
}

// setLanguage keeps a language choice in a cookie (the login page) and,
// for a logged-in member, in its settings.
func (c *Console) setLanguage(w http.ResponseWriter, r *http.Request, _ *staff.Principal) {
	lang := r.PostFormValue("lang")
	if lang != "zh-CN" && lang != "en" {
		c.errorPage(w, r, nil, http.StatusBadRequest)
		return
	}
	if p, err := c.opts.Staff.Authenticate(r.Context(), cookie(r, sessionCookie)); err == nil {
		if !csrfOK(r, cookie(r, sessionCookie)) {
			c.errorPage(w, r, p, http.StatusForbidden)
			return
		}
		if _, err := c.opts.Staff.Update(r.Context(), p.Member.ID, staff.Patch{Language: &lang}); err != nil {
			c.fail(w, r, p, err)
			return
		}
	} else if !csrfOK(r, cookie(r, loginCookie)) {
		c.errorPage(w, r, nil, http.StatusForbidden)
		return
	}
	setCookie(w, r, langCookie, lang, 365*24*time.Hour)
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}
