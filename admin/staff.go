package admin

import (
	"net/http"
	"time"

	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/config"
	"github.com/firebreak/firebreak/openai"
	"github.com/firebreak/firebreak/staff"
)

// StaffInput creates a staff member or, with PATCH, changes the fields it
// sets. Token, on create, also issues a personal admin token of that name
// for the new member and returns it once.
type StaffInput struct {
	Name     string       `json:"name"`
	Email    *string      `json:"email"`
	Role     *staff.Role  `json:"role"`
	Tenants  *[]string    `json:"tenants"`
	State    *staff.State `json:"state"`
	Language *string      `json:"language"`
	Password string       `json:"password"`
	Token    string       `json:"token"`
}

// StaffCreated is the answer to a create: the member and, when asked
// for, its first personal token (shown only now).
type StaffCreated struct {
	Member staff.Member `json:"member"`
	Token  string       `json:"token,omitempty"`
}

// TokenInput issues a personal token; TTL 0 never expires.
type TokenInput struct {
	Name string          `json:"name"`
	TTL  config.Duration `json:"ttl"`
}

// TokenCreated carries a new token's secret form, shown only now.
type TokenCreated struct {
	Token  staff.Token `json:"token"`
	Secret string      `json:"secret"`
}

// PasswordInput sets a member's password.
type PasswordInput struct {
	Password string `json:"password"`
}

// Me is the caller as the API sees it.
type Me struct {
	Member staff.Member `json:"member"`
	Via    string       `json:"via"`
}

func (a *API) staffRoutes(add func(string, []staff.Permission, http.HandlerFunc)) {
	manage := perms(staff.ManageStaff)
	add("GET /admin/v1/me", nil, a.me)
	add("GET /admin/v1/me/tokens", nil, a.myTokens)
	add("POST /admin/v1/me/tokens", nil, a.createMyToken)
	add("GET /admin/v1/staff", manage, a.listStaff)
	add("POST /admin/v1/staff", perms(staff.ManageStaff, staff.Bootstrap), a.createStaff)
	add("GET /admin/v1/staff/{name}", manage, a.getStaff)
	add("PATCH /admin/v1/staff/{name}", manage, a.updateStaff)
	add("POST /admin/v1/staff/{name}/password", manage, a.setPassword)
	add("POST /admin/v1/staff/{name}/unlock", manage, a.unlockStaff)
	add("DELETE /admin/v1/staff/{name}/totp", manage, a.resetTOTP)
	add("GET /admin/v1/staff/{name}/tokens", manage, a.listTokens)
	add("POST /admin/v1/staff/{name}/tokens", manage, a.createToken)
	add("DELETE /admin/v1/staff/{name}/tokens/{id}", manage, a.revokeToken)
	add("GET /admin/v1/staff/{name}/sessions", manage, a.listSessions)
	add("DELETE /admin/v1/staff/{name}/sessions/{id}", manage, a.revokeSession)
	add("DELETE /admin/v1/bootstrap", manage, a.disableBootstrap)
}

func (a *API) me(w http.ResponseWriter, r *http.Request) {
	p := PrincipalFrom(r.Context())
	reply(w, http.StatusOK, Me{Member: p.Member, Via: p.Via})
}

func (a *API) myTokens(w http.ResponseWriter, r *http.Request) {
	ts, err := a.staff.Tokens(r.Context(), PrincipalFrom(r.Context()).Member.ID)
	if err != nil {
		fail(w, err)
		return
	}
	reply(w, http.StatusOK, list[staff.Token]{Data: nonNil(ts)})
}

func (a *API) createMyToken(w http.ResponseWriter, r *http.Request) {
	a.issueToken(w, r, PrincipalFrom(r.Context()).Member.ID)
}

func (a *API) issueToken(w http.ResponseWriter, r *http.Request, staffID string) {
	var in TokenInput
	if err := decode(r, &in); err != nil {
		fail(w, err)
		return
	}
	note(r, "token", in.Name)
	t, secret, err := a.staff.CreateToken(r.Context(), staffID, in.Name, time.Duration(in.TTL))
	if err != nil {
		fail(w, err)
		return
	}
	reply(w, http.StatusCreated, TokenCreated{Token: *t, Secret: secret})
}

func (a *API) listStaff(w http.ResponseWriter, r *http.Request) {
	ms, err := a.staff.List(r.Context())
	if err != nil {
		fail(w, err)
		return
	}
	reply(w, http.StatusOK, list[staff.Member]{Data: nonNil(ms)})
}

func (a *API) createStaff(w http.ResponseWriter, r *http.Request) {
	var in StaffInput
	if err := decode(r, &in); err != nil {
		fail(w, err)
		return
	}
	n := staff.NewMember{Name: in.Name, Password: in.Password}
	if in.Role != nil {
		n.Role = *in.Role
	}
	if in.Email != nil {
		n.Email = *in.Email
	}
	if in.Tenants != nil {
		n.Tenants = *in.Tenants
	}
	if in.Language != nil {
		n.Language = *in.Language
	}
	note(r, "name", n.Name)
	note(r, "role", string(n.Role))
	if PrincipalFrom(r.Context()).Via == staff.ViaBootstrap && (n.Role != staff.RoleAdmin || len(n.Tenants) > 0) {
		openai.WriteError(w, clienterr.Errorf(clienterr.Forbidden, "the bootstrap token may only create unlimited admins"))
		return
	}
	m, err := a.staff.Create(r.Context(), n)
	if err != nil {
		fail(w, err)
		return
	}
	out := StaffCreated{Member: *m}
	if in.Token != "" {
		if _, out.Token, err = a.staff.CreateToken(r.Context(), m.ID, in.Token, 0); err != nil {
			fail(w, err)
			return
		}
	}
	reply(w, http.StatusCreated, out)
}

// member finds the {name} of the path.
func (a *API) member(w http.ResponseWriter, r *http.Request) (*staff.Member, bool) {
	m, err := a.staff.ByName(r.Context(), r.PathValue("name"))
	if err != nil {
		fail(w, err)
		return nil, false
	}
	return m, true
}

func (a *API) getStaff(w http.ResponseWriter, r *http.Request) {
	if m, ok := a.member(w, r); ok {
		reply(w, http.StatusOK, m)
	}
}

func (a *API) updateStaff(w http.ResponseWriter, r *http.Request) {
	m, ok := a.member(w, r)
	if !ok {
		return
	}
	var in StaffInput
	if err := decode(r, &in); err != nil {
		fail(w, err)
		return
	}
	if in.Name != "" || in.Password != "" || in.Token != "" {
		openai.WriteError(w, clienterr.Errorf(clienterr.InvalidRequest, "name, password and token cannot be changed here"))
		return
	}
	if in.Role != nil {
		note(r, "role", string(*in.Role))
	}
	if in.State != nil {
		note(r, "state", string(*in.State))
	}
	m, err := a.staff.Update(r.Context(), m.ID, staff.Patch{Email: in.Email, Role: in.Role, Tenants: in.Tenants,
		State: in.State, Language: in.Language})
	if err != nil {
		fail(w, err)
		return
	}
	reply(w, http.StatusOK, m)
}

func (a *API) setPassword(w http.ResponseWriter, r *http.Request) {
	m, ok := a.member(w, r)
	if !ok {
		return
	}
	var in PasswordInput
	if err := decode(r, &in); err != nil {
		fail(w, err)
		return
	}
	if err := a.staff.SetPassword(r.Context(), m.ID, in.Password); err != nil {
		fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) unlockStaff(w http.ResponseWriter, r *http.Request) {
	if m, ok := a.member(w, r); ok {
		a.noContent(w, a.staff.Unlock(r.Context(), m.ID))
	}
}

func (a *API) resetTOTP(w http.ResponseWriter, r *http.Request) {
	if m, ok := a.member(w, r); ok {
		a.noContent(w, a.staff.DisableTOTP(r.Context(), m.ID))
	}
}

func (a *API) listTokens(w http.ResponseWriter, r *http.Request) {
	m, ok := a.member(w, r)
	if !ok {
		return
	}
	ts, err := a.staff.Tokens(r.Context(), m.ID)
	if err != nil {
		fail(w, err)
		return
	}
	reply(w, http.StatusOK, list[staff.Token]{Data: nonNil(ts)})
}

func (a *API) createToken(w http.ResponseWriter, r *http.Request) {
	if m, ok := a.member(w, r); ok {
		a.issueToken(w, r, m.ID)
	}
}

func (a *API) revokeToken(w http.ResponseWriter, r *http.Request) {
	if m, ok := a.member(w, r); ok {
		a.noContent(w, a.staff.RevokeToken(r.Context(), m.ID, r.PathValue("id")))
	}
}

func (a *API) listSessions(w http.ResponseWriter, r *http.Request) {
	m, ok := a.member(w, r)
	if !ok {
		return
	}
	ss, err := a.staff.Sessions(r.Context(), m.ID)
	if err != nil {
		fail(w, err)
		return
	}
	reply(w, http.StatusOK, list[staff.Session]{Data: nonNil(ss)})
}

func (a *API) revokeSession(w http.ResponseWriter, r *http.Request) {
	if m, ok := a.member(w, r); ok {
		a.noContent(w, a.staff.RevokeSession(r.Context(), m.ID, r.PathValue("id")))
	}
}

func (a *API) disableBootstrap(w http.ResponseWriter, r *http.Request) {
	a.noContent(w, a.accounts.DisableAdminToken(r.Context()))
}

func (a *API) noContent(w http.ResponseWriter, err error) {
	if err != nil {
		fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
