package console

import (
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/sanction"
	"github.com/firebreak/firebreak/staff"
	"github.com/firebreak/firebreak/store"
)

func (c *Console) userRoutes() {
	if c.opts.Sanctions != nil {
		c.add("GET /console/users", staff.ViewUsers, c.usersPage).Scoped = true
		c.add("POST /console/users/sanctions", staff.ManageSanctions, c.impose).Scoped = true
		c.add("POST /console/sanctions/{id}/lift", staff.ManageSanctions, c.lift).Scoped = true
		c.add("GET /console/blacklist", staff.ViewUsers, c.blacklistPage)
		c.add("POST /console/blacklist", staff.ManageSanctions, c.addBlacklist)
		c.add("POST /console/blacklist/{id}/remove", staff.ManageSanctions, c.removeBlacklist)
	}
	if c.opts.Complaints != nil {
		c.add("GET /console/complaints", staff.ViewComplaints, c.complaintsPage)
		c.add("GET /console/complaints/{id}", staff.ViewComplaints, c.complaintPage)
		c.add("POST /console/complaints/{id}", staff.AnswerComplaint, c.answerComplaint)
	}
}

type usersView struct {
	Tenant, User string
	Found        *account.EndUser
	Level        string // the real-name level; "" when not known here
	Standing     sanction.Standing
	History      []sanction.Sanction
	Flash, Error string
	Actions      []string
}

// endUser finds the end user the form names (tenant name or id, the
// operator's user id) within the member's tenants.
func (c *Console) endUser(r *http.Request, p *staff.Principal, tenantRef, ext string) (*account.EndUser, error) {
	t, err := c.opts.Accounts.Tenants.Get(r.Context(), tenantRef)
	if errors.Is(err, store.ErrNotFound) {
		t, err = c.opts.Accounts.Tenants.GetByName(r.Context(), tenantRef)
	}
	if err != nil {
		return nil, err
	}
	if !p.Member.InTenant(t.ID) {
		return nil, store.ErrNotFound
	}
	return c.opts.Accounts.Users.Find(r.Context(), t.ID, ext)
}

func (c *Console) usersView(r *http.Request, p *staff.Principal, tenantRef, ext string) (usersView, error) {
	v := usersView{Tenant: tenantRef, User: ext, Flash: r.URL.Query().Get("flash"),
		Actions: []string{"warn", "restrict", "suspend", "terminate"}}
	if tenantRef == "" || ext == "" {
		return v, nil
	}
	u, err := c.endUser(r, p, tenantRef, ext)
	if errors.Is(err, store.ErrNotFound) {
		v.Error = "users.not_found"
		return v, nil
	}
	if err != nil {
		return v, err
	}
	v.Found = u
	if c.opts.Identity != nil {
		st, err := c.opts.Identity.State(r.Context(), u.ID)
		if err != nil {
			return v, err
		}
		v.Level = st.Level.String()
	}
	if v.Standing, err = c.opts.Sanctions.Standing(r.Context(), u.TenantID, u.ID); err != nil {
		return v, err
	}
	v.History, err = c.opts.Sanctions.History(r.Context(), u.TenantID, u.ID, 100)
	return v, err
}

func (c *Console) usersPage(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	q := r.URL.Query()
	v, err := c.usersView(r, p, strings.TrimSpace(q.Get("tenant")), strings.TrimSpace(q.Get("user")))
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	c.render(w, r, p, "users", "nav.users", v)
}

func (c *Console) impose(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	tenantRef, ext := r.PostFormValue("tenant"), r.PostFormValue("user")
	u, err := c.endUser(r, p, tenantRef, ext)
	if errors.Is(err, store.ErrNotFound) {
		c.errorPage(w, r, p, http.StatusNotFound)
		return
	}
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	var action sanction.Action
	err = action.UnmarshalText([]byte(r.PostFormValue("action")))
	days, _ := time.ParseDuration(r.PostFormValue("duration"))
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	note(w, "action", r.PostFormValue("action"))
	note(w, "reason", reason)
	if err == nil {
		_, err = c.opts.Sanctions.Impose(r.Context(), sanction.Imposition{TenantID: u.TenantID, EndUserID: u.ID,
			Action: action, Duration: days, Reason: reason, Actor: p.Actor()})
	}
	dest := "/console/users?tenant=" + urlq(tenantRef) + "&user=" + urlq(ext)
	if err != nil {
		v, verr := c.usersView(r, p, tenantRef, ext)
		if verr != nil {
			c.fail(w, r, p, verr)
			return
		}
		v.Error = "users.impose_failed"
		w.WriteHeader(http.StatusBadRequest)
		c.render(w, r, p, "users", "nav.users", v)
		return
	}
	http.Redirect(w, r, dest+"&flash=users.imposed", http.StatusSeeOther)
}

func (c *Console) lift(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	s, err := c.opts.Sanctions.Sanction(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) || (err == nil && !p.Member.InTenant(s.TenantID)) {
		c.errorPage(w, r, p, http.StatusNotFound)
		return
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	note(w, "reason", reason)
	if err == nil && reason == "" {
		c.errorPage(w, r, p, http.StatusBadRequest)
		return
	}
	if err == nil {
		_, err = c.opts.Sanctions.Lift(r.Context(), s.ID, p.Actor(), reason)
	}
	if err != nil && !errors.Is(err, sanction.ErrLifted) {
		c.fail(w, r, p, err)
		return
	}
	back(w, r, "/console/users", "users.lifted")
}

type blacklistView struct {
	Entries []sanction.Entry
	Kinds   []string
	Flash   string
	Error   string
	Now     time.Time
}

func (c *Console) blacklistPage(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	es, err := c.opts.Sanctions.Entries(r.Context(), sanction.Filter{AnyTenant: true, Kind: sanction.Kind(r.URL.Query().Get("kind"))})
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	c.render(w, r, p, "blacklist", "nav.blacklist", blacklistView{Entries: es, Flash: r.URL.Query().Get("flash"),
		Kinds: []string{"user", "device", "ip", "phone", "id_number"}, Now: c.opts.Now()})
}

func (c *Console) addBlacklist(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	kind := sanction.Kind(r.PostFormValue("kind"))
	e := sanction.Entry{Kind: kind, Value: strings.TrimSpace(r.PostFormValue("value")),
		Reason: strings.TrimSpace(r.PostFormValue("reason")), CreatedBy: p.Actor()}
	note(w, "kind", string(kind))
	note(w, "reason", e.Reason)
	var err error
	if d, perr := time.ParseDuration(r.PostFormValue("expires")); perr == nil && d > 0 {
		e.ExpiresAt = c.opts.Now().Add(d)
	}
	switch kind {
	case sanction.KindPhone:
		e.Value, err = c.opts.Sanctions.HashPhone(e.Value)
	case sanction.KindIDNumber:
		e.Value, err = c.opts.Sanctions.HashIDNumber(e.Value)
	}
	if err == nil {
		_, err = c.opts.Sanctions.AddEntry(r.Context(), e)
	}
	if err != nil {
		es, _ := c.opts.Sanctions.Entries(r.Context(), sanction.Filter{AnyTenant: true})
		w.WriteHeader(http.StatusBadRequest)
		c.render(w, r, p, "blacklist", "nav.blacklist", blacklistView{Entries: es, Error: err.Error(),
			Kinds: []string{"user", "device", "ip", "phone", "id_number"}, Now: c.opts.Now()})
		return
	}
	http.Redirect(w, r, "/console/blacklist?flash=blacklist.added", http.StatusSeeOther)
}

func (c *Console) removeBlacklist(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	err := c.opts.Sanctions.RemoveEntry(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		c.errorPage(w, r, p, http.StatusNotFound)
		return
	}
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	http.Redirect(w, r, "/console/blacklist?flash=blacklist.removed", http.StatusSeeOther)
}

type complaintsView struct {
	Complaints []audit.Complaint
	One        *audit.Complaint
	Now        time.Time
	Flash      string
}

// complaintsPage lists open complaints by deadline, overdue first.
func (c *Console) complaintsPage(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	cs, err := c.opts.Complaints.List(r.Context(), audit.ComplaintFilter{Status: r.URL.Query().Get("status"), Limit: 1000})
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	now := c.opts.Now()
	sort.SliceStable(cs, func(i, j int) bool {
		oi, oj := cs[i].Overdue(now), cs[j].Overdue(now)
		if oi != oj {
			return oi
		}
		return cs[i].Deadline.Before(cs[j].Deadline)
	})
	c.render(w, r, p, "complaints", "nav.complaints", complaintsView{Complaints: cs, Now: now, Flash: r.URL.Query().Get("flash")})
}

func (c *Console) complaintPage(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	cm, err := c.opts.Complaints.Get(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		c.errorPage(w, r, p, http.StatusNotFound)
		return
	}
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	// The text is decrypted personal data: its view is recorded.
	c.record(r, p, "GET /console/complaints/{id}", http.StatusOK, []string{"complaint=" + cm.ID})
	c.render(w, r, p, "complaints", "nav.complaints", complaintsView{One: cm, Now: c.opts.Now(), Flash: r.URL.Query().Get("flash")})
}

func (c *Console) answerComplaint(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	id := r.PathValue("id")
	var err error
	if r.PostFormValue("close") != "" {
		note(w, "status", audit.StatusClosed)
		err = c.opts.Complaints.SetStatus(r.Context(), id, audit.StatusClosed)
	} else {
		answer := strings.TrimSpace(r.PostFormValue("answer"))
		if answer == "" {
			c.errorPage(w, r, p, http.StatusBadRequest)
			return
		}
		_, err = c.opts.Complaints.Answer(r.Context(), id, answer, p.Actor())
	}
	if errors.Is(err, store.ErrNotFound) {
		c.errorPage(w, r, p, http.StatusNotFound)
		return
	}
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	http.Redirect(w, r, "/console/complaints/"+id+"?flash=complaints.saved", http.StatusSeeOther)
}

func urlq(s string) string { return url.QueryEscape(s) }
