package console

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/staff"
	"github.com/firebreak/firebreak/store"
)

func (c *Console) auditRoutes() {
	if c.opts.Trail == nil {
		return
	}
	c.add("GET /console/audit", staff.ViewAudit, c.auditSearch).Scoped = true
	c.add("GET /console/audit/export", staff.ViewAudit, c.auditExport).Scoped = true
	c.add("GET /console/audit/records/{id}", staff.ViewAudit, c.auditRecord).Scoped = true
	c.add("POST /console/audit/records/{id}/content", staff.ViewContent, c.auditContent).Scoped = true
	c.add("POST /console/audit/verify", staff.ViewAudit, c.auditVerify)
}

type auditView struct {
	Form    url.Values
	Entries []auditRow
	Next    string // the query of the next page; "" when this is the last
	Error   string
	Verify  *audit.Report
}

// auditRow is an entry with its staff action, when it is one.
type auditRow struct {
	audit.Entry
	Action *audit.Action
}

func rows(es []audit.Entry) []auditRow {
	out := make([]auditRow, len(es))
	for i, e := range es {
		out[i].Entry = e
		if a, ok := e.Action(); ok {
			out[i].Action = &a
		}
	}
	return out
}

// auditQuery reads the search form. A member limited to tenants searches
// its first tenant unless it names another of its own.
func (c *Console) auditQuery(r *http.Request, p *staff.Principal) (audit.Query, error) {
	f := r.URL.Query()
	q := audit.Query{TenantID: f.Get("tenant"), Decision: f.Get("decision"), Code: f.Get("code"),
		Outcome: f.Get("outcome"), RequestID: f.Get("request_id"), After: f.Get("after"), Newest: true, Limit: 50}
	switch f.Get("kind") {
	case "staff":
		q.Route = audit.RouteStaff
	case "requests":
		q.Requests = true
	}
	if a := f.Get("actor"); a != "" {
		q.EndUser, q.Route = audit.ActorEndUser(a), audit.RouteStaff
	}
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		if v := f.Get(t.name); v != "" {
			d, err := time.Parse("2006-01-02", v)
			if err != nil {
				return q, errors.New("audit.bad_date")
			}
			*t.dst = d
		}
	}
	if p.Member.Limited() {
		if q.TenantID == "" {
			q.TenantID = p.Member.Tenants[0]
		}
		if !p.Member.InTenant(q.TenantID) {
			return q, errors.New("audit.bad_tenant")
		}
	}
	return q, nil
}

func (c *Console) auditSearch(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	v := auditView{Form: r.URL.Query()}
	q, err := c.auditQuery(r, p)
	if err == nil {
		var es []audit.Entry
		if es, err = c.opts.Trail.Search(r.Context(), q); err == nil {
			v.Entries = rows(es)
			if len(es) == q.Limit {
				next := r.URL.Query()
				next.Set("after", es[len(es)-1].ID)
				v.Next = next.Encode()
			}
		} else {
			err = errors.New("audit.bad_query")
		}
	}
	if err != nil {
		v.Error = err.Error()
		w.WriteHeader(http.StatusBadRequest)
	}
	c.render(w, r, p, "audit", "nav.audit", v)
}

func (c *Console) auditExport(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	q, err := c.auditQuery(r, p)
	if err != nil {
		c.errorPage(w, r, p, http.StatusBadRequest)
		return
	}
	q.Newest, q.After = false, ""
	c.record(r, p, "GET /console/audit/export", http.StatusOK, []string{"query=" + r.URL.RawQuery})
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="firebreak-audit.csv"`)
	if err := c.opts.Trail.Export(r.Context(), w, q, "csv"); err != nil {
		c.log.Error("console audit export", "err", err)
	}
}

type recordView struct {
	Row      auditRow
	Revealed bool
}

// entry finds the {id} record within the member's tenants.
func (c *Console) entry(w http.ResponseWriter, r *http.Request, p *staff.Principal, content bool) (audit.Entry, bool) {
	var e audit.Entry
	var err error
	if content {
		e, err = c.opts.Trail.Content(r.Context(), r.PathValue("id"))
	} else {
		var es []audit.Entry
		es, err = c.opts.Trail.Search(r.Context(), audit.Query{ID: r.PathValue("id"), Limit: 1})
		if err == nil && len(es) == 0 {
			err = store.ErrNotFound
		}
		if err == nil {
			e = es[0]
		}
	}
	switch {
	case errors.Is(err, store.ErrNotFound) || (err == nil && !p.Member.InTenant(e.TenantID)):
		c.errorPage(w, r, p, http.StatusNotFound)
		return e, false
	case err != nil:
		c.fail(w, r, p, err)
		return e, false
	}
	return e, true
}

func (c *Console) auditRecord(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	if e, ok := c.entry(w, r, p, false); ok {
		c.render(w, r, p, "record", "audit.record", recordView{Row: rows([]audit.Entry{e})[0]})
	}
}

// auditContent shows a record's decrypted content; the view itself is a
// staff action on the trail (the handler's wrapper records the POST).
func (c *Console) auditContent(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	e, ok := c.entry(w, r, p, true)
	if !ok {
		return
	}
	note(w, "record", e.ID)
	c.render(w, r, p, "record", "audit.record", recordView{Row: rows([]audit.Entry{e})[0], Revealed: true})
}

func (c *Console) auditVerify(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	if c.opts.Verify == nil {
		c.errorPage(w, r, p, http.StatusNotFound)
		return
	}
	rep, err := c.opts.Verify(r.Context())
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	note(w, "ok", strconv.FormatBool(rep.OK))
	c.render(w, r, p, "audit", "nav.audit", auditView{Form: url.Values{}, Verify: &rep})
}
