package console

import (
	"bytes"
	"encoding/base64"
	"errors"
	"html/template"
	"image/png"
	"net/http"
	"strings"
	"time"

	"github.com/pquerna/otp"

	"github.com/firebreak/firebreak/staff"
	"github.com/firebreak/firebreak/store"
)

func (c *Console) staffRoutes() {
	m := staff.ManageStaff
	c.add("GET /console/staff", m, c.staffPage)
	c.add("POST /console/staff", m, c.createStaff)
	c.add("GET /console/staff/{name}", m, c.memberPage)
	c.add("POST /console/staff/{name}", m, c.updateMember)
	c.add("POST /console/staff/{name}/unlock", m, c.unlockMember)
	c.add("POST /console/staff/{name}/totp/reset", m, c.resetMemberTOTP)
	c.add("POST /console/staff/{name}/tokens/{id}/revoke", m, c.revokeMemberToken)
	c.add("POST /console/staff/{name}/sessions/{id}/revoke", m, c.revokeMemberSession)
}

type staffView struct {
	Members []staff.Member
	Roles   []staff.Role
	Flash   string
	Error   string
}

func (c *Console) staffPage(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	c.renderStaff(w, r, p, http.StatusOK, "")
}

func (c *Console) renderStaff(w http.ResponseWriter, r *http.Request, p *staff.Principal, status int, errText string) {
	ms, err := c.opts.Staff.List(r.Context())
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	if status != http.StatusOK {
		w.WriteHeader(status)
	}
	c.render(w, r, p, "staff", "nav.staff", staffView{Members: ms, Roles: staff.Roles, Flash: r.URL.Query().Get("flash"), Error: errText})
}

func tenantList(s string) []string {
	var out []string
	for _, t := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		out = append(out, t)
	}
	return out
}

func (c *Console) createStaff(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	n := staff.NewMember{Name: r.PostFormValue("name"), Email: strings.TrimSpace(r.PostFormValue("email")),
		Role: staff.Role(r.PostFormValue("role")), Tenants: tenantList(r.PostFormValue("tenants")),
		Password: r.PostFormValue("password")}
	note(w, "name", n.Name)
	note(w, "role", string(n.Role))
	m, err := c.opts.Staff.Create(r.Context(), n)
	if errors.Is(err, staff.ErrInvalid) || errors.Is(err, staff.ErrNameTaken) {
		c.renderStaff(w, r, p, http.StatusBadRequest, err.Error())
		return
	}
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	http.Redirect(w, r, "/console/staff/"+m.Name+"?flash=staff.created", http.StatusSeeOther)
}

type memberView struct {
	Member   *staff.Member
	Tokens   []staff.Token
	Sessions []staff.Session
	Roles    []staff.Role
	Flash    string
	Error    string
}

func (c *Console) member(w http.ResponseWriter, r *http.Request, p *staff.Principal) (*staff.Member, bool) {
	m, err := c.opts.Staff.ByName(r.Context(), r.PathValue("name"))
	if errors.Is(err, store.ErrNotFound) {
		c.errorPage(w, r, p, http.StatusNotFound)
		return nil, false
	}
	if err != nil {
		c.fail(w, r, p, err)
		return nil, false
	}
	return m, true
}

func (c *Console) memberView(r *http.Request, m *staff.Member) (memberView, error) {
	v := memberView{Member: m, Roles: staff.Roles, Flash: r.URL.Query().Get("flash")}
	var err error
	if v.Tokens, err = c.opts.Staff.Tokens(r.Context(), m.ID); err != nil {
		return v, err
	}
	v.Sessions, err = c.opts.Staff.Sessions(r.Context(), m.ID)
	return v, err
}

func (c *Console) memberPage(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	m, ok := c.member(w, r, p)
	if !ok {
		return
	}
	v, err := c.memberView(r, m)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	c.render(w, r, p, "member", "nav.staff", v)
}

func (c *Console) updateMember(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	m, ok := c.member(w, r, p)
	if !ok {
		return
	}
	role, state := staff.Role(r.PostFormValue("role")), staff.State(r.PostFormValue("state"))
	tenants := tenantList(r.PostFormValue("tenants"))
	note(w, "role", string(role))
	note(w, "state", string(state))
	_, err := c.opts.Staff.Update(r.Context(), m.ID, staff.Patch{Role: &role, State: &state, Tenants: &tenants})
	if err != nil && !errors.Is(err, staff.ErrInvalid) && !errors.Is(err, staff.ErrLastAdmin) {
		c.fail(w, r, p, err)
		return
	}
	if err != nil {
		v, verr := c.memberView(r, m)
		if verr != nil {
			c.fail(w, r, p, verr)
			return
		}
		v.Error = err.Error()
		w.WriteHeader(http.StatusBadRequest)
		c.render(w, r, p, "member", "nav.staff", v)
		return
	}
	http.Redirect(w, r, "/console/staff/"+m.Name+"?flash=staff.saved", http.StatusSeeOther)
}

// memberAction runs one change on the {name} member and returns to its page.
func (c *Console) memberAction(w http.ResponseWriter, r *http.Request, p *staff.Principal, do func(m *staff.Member) error) {
	m, ok := c.member(w, r, p)
	if !ok {
		return
	}
	err := do(m)
	if errors.Is(err, store.ErrNotFound) {
		c.errorPage(w, r, p, http.StatusNotFound)
		return
	}
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	http.Redirect(w, r, "/console/staff/"+m.Name+"?flash=staff.saved", http.StatusSeeOther)
}

func (c *Console) unlockMember(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	c.memberAction(w, r, p, func(m *staff.Member) error { return c.opts.Staff.Unlock(r.Context(), m.ID) })
}

func (c *Console) resetMemberTOTP(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	c.memberAction(w, r, p, func(m *staff.Member) error { return c.opts.Staff.DisableTOTP(r.Context(), m.ID) })
}

func (c *Console) revokeMemberToken(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	c.memberAction(w, r, p, func(m *staff.Member) error {
		return c.opts.Staff.RevokeToken(r.Context(), m.ID, r.PathValue("id"))
	})
}

func (c *Console) revokeMemberSession(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	c.memberAction(w, r, p, func(m *staff.Member) error {
		return c.opts.Staff.RevokeSession(r.Context(), m.ID, r.PathValue("id"))
	})
}

// settingsView is the member's own page: language, password, TOTP,
// personal tokens and sessions.
type settingsView struct {
	memberView
	Enrol    *enrolView
	NewToken string
	Required bool
}

type enrolView struct {
	Secret string
	QR     template.URL
}

func (c *Console) settingsView(r *http.Request, p *staff.Principal) (settingsView, error) {
	mv, err := c.memberView(r, &p.Member)
	return settingsView{memberView: mv, Required: c.opts.Staff.TOTPRequired(p.Member.Role)}, err
}

func (c *Console) settings(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	v, err := c.settingsView(r, p)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	c.render(w, r, p, "settings", "nav.settings", v)
}

func (c *Console) changePassword(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	ok, err := c.opts.Staff.CheckPassword(r.Context(), p.Member.ID, r.PostFormValue("current"))
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	if ok {
		err = c.opts.Staff.SetPassword(r.Context(), p.Member.ID, r.PostFormValue("password"))
	}
	if !ok || errors.Is(err, staff.ErrInvalid) {
		v, verr := c.settingsView(r, p)
		if verr != nil {
			c.fail(w, r, p, verr)
			return
		}
		v.Error = "settings.password_bad"
		w.WriteHeader(http.StatusBadRequest)
		c.render(w, r, p, "settings", "nav.settings", v)
		return
	}
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	clearCookie(w, r, sessionCookie) // every session ended with the change
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
}

// enrolment starts a TOTP enrolment and returns what the page shows: the
// secret and its QR code as a data: URL.
func (c *Console) enrolment(r *http.Request, p *staff.Principal) (*enrolView, error) {
	e, err := c.opts.Staff.BeginTOTP(r.Context(), p.Member.ID)
	if err != nil {
		return nil, err
	}
	key, err := otp.NewKeyFromURL(e.URL)
	if err != nil {
		return nil, err
	}
	img, err := key.Image(200, 200)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return &enrolView{Secret: e.Secret, QR: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()))}, nil
}

func (c *Console) beginTOTP(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	v, err := c.settingsView(r, p)
	if err == nil {
		v.Enrol, err = c.enrolment(r, p)
	}
	if err != nil && !errors.Is(err, staff.ErrInvalid) {
		c.fail(w, r, p, err)
		return
	}
	c.render(w, r, p, "settings", "nav.settings", v)
}

func (c *Console) enrollPage(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	if p.Pending != staff.PendingEnroll {
		http.Redirect(w, r, "/console/settings", http.StatusSeeOther)
		return
	}
	e, err := c.enrolment(r, p)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	c.render(w, r, p, "enroll", "enroll.title", settingsView{Enrol: e, Required: true})
}

// enroll confirms a TOTP enrolment with the first code, from the
// enrolment page or the settings page.
func (c *Console) enroll(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	err := c.opts.Staff.ConfirmTOTP(r.Context(), p.Member.ID, strings.TrimSpace(r.PostFormValue("code")))
	if errors.Is(err, staff.ErrBadCredentials) || errors.Is(err, staff.ErrInvalid) {
		w.WriteHeader(http.StatusBadRequest)
		c.render(w, r, p, "enroll", "enroll.title", settingsView{Required: p.Pending == staff.PendingEnroll,
			memberView: memberView{Error: "totp.bad"}})
		return
	}
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	http.Redirect(w, r, "/console/settings?flash=settings.totp_on", http.StatusSeeOther)
}

func (c *Console) disableTOTP(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	if c.opts.Staff.TOTPRequired(p.Member.Role) {
		c.errorPage(w, r, p, http.StatusForbidden)
		return
	}
	if err := c.opts.Staff.DisableTOTP(r.Context(), p.Member.ID); err != nil {
		c.fail(w, r, p, err)
		return
	}
	http.Redirect(w, r, "/console/settings?flash=settings.totp_off", http.StatusSeeOther)
}

func (c *Console) createMyToken(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	days, _ := time.ParseDuration(r.PostFormValue("ttl"))
	name := strings.TrimSpace(r.PostFormValue("name"))
	note(w, "token", name)
	_, secret, err := c.opts.Staff.CreateToken(r.Context(), p.Member.ID, name, days)
	if err != nil && !errors.Is(err, staff.ErrInvalid) {
		c.fail(w, r, p, err)
		return
	}
	v, verr := c.settingsView(r, p)
	if verr != nil {
		c.fail(w, r, p, verr)
		return
	}
	if err != nil {
		v.Error = err.Error()
		w.WriteHeader(http.StatusBadRequest)
	}
	v.NewToken = secret // shown once
	c.render(w, r, p, "settings", "nav.settings", v)
}

func (c *Console) revokeMyToken(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	if err := c.opts.Staff.RevokeToken(r.Context(), p.Member.ID, r.PathValue("id")); err != nil && !errors.Is(err, store.ErrNotFound) {
		c.fail(w, r, p, err)
		return
	}
	http.Redirect(w, r, "/console/settings?flash=settings.saved", http.StatusSeeOther)
}

func (c *Console) revokeMySession(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	if err := c.opts.Staff.RevokeSession(r.Context(), p.Member.ID, r.PathValue("id")); err != nil && !errors.Is(err, store.ErrNotFound) {
		c.fail(w, r, p, err)
		return
	}
	http.Redirect(w, r, "/console/settings?flash=settings.saved", http.StatusSeeOther)
}
