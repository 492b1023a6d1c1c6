package console

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/firebreak/firebreak/staff"
)

//go:embed templates static
var embedded embed.FS

// pages holds one template set per page: the layout and partials cloned,
// with the page's "content" parsed in.
type pages struct {
	byName map[string]*template.Template
}

var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format("2006-01-02 15:04:05")
	},
	"day": func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format("2006-01-02")
	},
	"join": strings.Join,
	"short": func(s string) string {
		if len(s) > 12 {
			return s[:12] + "…"
		}
		return s
	},
	"list": func(s ...string) []string { return s },
	"dur":  func(d time.Duration) string { return d.Round(time.Second).String() },
	"pct":  func(f float64) string { return strconv.FormatFloat(100*f, 'f', 1, 64) + "%" },
	"kappa": func(k float64) string {
		if math.IsNaN(k) {
			return "—"
		}
		return strconv.FormatFloat(k, 'f', 2, 64)
	},
}

func parsePages() (*pages, error) {
	base, err := template.New("layout").Funcs(funcs).ParseFS(embedded, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("console templates: %w", err)
	}
	names, err := fs.Glob(embedded, "templates/*.html")
	if err != nil {
		return nil, err
	}
	ps := &pages{byName: map[string]*template.Template{}}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(embedded, n)
		if err != nil {
			return nil, fmt.Errorf("console template %s: %w", name, err)
		}
		ps.byName[name] = t
	}
	return ps, nil
}

// view is what every template gets: the page's data and what the layout
// needs (language, the member, the CSRF token, the current path).
type view struct {
	L      *locale
	P      *staff.Principal
	CSRF   string
	Title  string
	Path   string
	Method string
	Query  string
	Data   any
	Now    time.Time
}

// Can reports whether the member may do perm: the templates show only the
// links and buttons that would be allowed.
func (v *view) Can(perm string) bool {
	return v.P != nil && v.P.Pending == staff.PendingNone && v.P.Can(staff.Permission(perm)) &&
		(!v.P.Member.Limited() || perm == string(staff.ViewDashboard) || perm == string(staff.ViewAudit) || perm == string(staff.ViewTenants))
}

// Active marks the nav entry of the current page.
func (v *view) Active(prefix string) string {
	if v.Path == prefix || (prefix != "/console/" && strings.HasPrefix(v.Path, prefix)) {
		return "active"
	}
	return ""
}

// Next is where the language switch returns: this page, or for a page
// that answered a form, the page the form belongs to.
func (v *view) Next() string {
	if v.Method == http.MethodGet {
		return v.Path
	}
	if i := strings.LastIndexByte(strings.TrimSuffix(v.Path, "/"), '/'); i > len("/console") {
		return v.Path[:i]
	}
	return "/console/"
}

// Base is where a credentials list posts: the member's page or the
// member's own settings.
func (v *view) Base() string {
	if rest, ok := strings.CutPrefix(v.Path, "/console/staff/"); ok {
		name, _, _ := strings.Cut(rest, "/")
		return "/console/staff/" + name
	}
	return "/console/settings"
}

// T translates key into the page's language.
func (v *view) T(key string, args ...any) string { return v.L.T(key, args...) }

// render writes a page, with the layout, in the request's language.
func (c *Console) render(w http.ResponseWriter, r *http.Request, p *staff.Principal, name, title string, data any) {
	t := c.pages.byName[name]
	if t == nil {
		c.fail(w, r, p, fmt.Errorf("no template %q", name))
		return
	}
	v := &view{L: localeFor(r, p), P: p, Title: title, Path: r.URL.Path, Method: r.Method, Query: r.URL.RawQuery, Data: data, Now: c.opts.Now()}
	if p != nil {
		v.CSRF = csrfToken(cookie(r, sessionCookie))
	} else if lc := cookie(r, loginCookie); lc != "" {
		v.CSRF = csrfToken(lc)
	}
	if lv, ok := data.(loginView); ok && lv.CSRF != "" {
		v.CSRF = lv.CSRF
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		c.fail(w, r, p, fmt.Errorf("render %s: %w", name, err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", v.L.lang)
	_, _ = w.Write(buf.Bytes())
}

// errorPage answers an HTTP error as a page in the member's language (a
// 403 says the role may not open it).
func (c *Console) errorPage(w http.ResponseWriter, r *http.Request, p *staff.Principal, status int) {
	w.WriteHeader(status)
	c.render(w, r, p, "error", fmt.Sprintf("error.%d", status), status)
}

// fail logs an unexpected error once and answers 500 without its text.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, p *staff.Principal, err error) {
	c.log.Error("console", "path", r.URL.Path, "err", err)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	l := localeFor(r, p)
	fmt.Fprintf(w, "<!doctype html><title>500</title><p>%s</p>", template.HTMLEscapeString(l.T("error.500")))
}

// back redirects to the page a form came from (its "back" field, inside
// the console), with a flash message key.
func back(w http.ResponseWriter, r *http.Request, def, flash string) {
	to := r.PostFormValue("back")
	if !strings.HasPrefix(to, "/console/") || strings.HasPrefix(to, "//") {
		to = def
	}
	if flash != "" {
		sep := "?"
		if strings.Contains(to, "?") {
			sep = "&"
		}
		to += sep + "flash=" + flash
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}
