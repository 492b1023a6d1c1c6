package admin

import (
	"net/http"
	"time"

	"github.com/firebreak/firebreak/account"
)

// Limits is the wire form of account.Limits. Zero means unlimited.
type Limits struct {
	RPM        int   `json:"rpm"`
	Concurrent int   `json:"concurrent"`
	TPM        int   `json:"tpm"`
	TokenQuota int64 `json:"token_quota"`
}

func (l Limits) account() account.Limits {
	return account.Limits{RPM: l.RPM, Concurrent: l.Concurrent, TPM: l.TPM, TokenQuota: l.TokenQuota}
}

func limitsOf(l account.Limits) Limits {
	return Limits{RPM: l.RPM, Concurrent: l.Concurrent, TPM: l.TPM, TokenQuota: l.TokenQuota}
}

// Tenant is the wire form of a tenant.
type Tenant struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	DefaultModel string    `json:"default_model"`
	Models       []string  `json:"models"`
	UserLimits   Limits    `json:"user_limits"`
	Disabled     bool      `json:"disabled"`
	CreatedAt    time.Time `json:"created_at"`
}

func tenantOf(t *account.Tenant) Tenant {
	models := t.Models
	if models == nil {
		models = []string{}
	}
	return Tenant{ID: t.ID, Name: t.Name, DefaultModel: t.DefaultModel, Models: models,
		UserLimits: limitsOf(t.Limits), Disabled: t.Disabled, CreatedAt: t.CreatedAt}
}

// TenantInput creates a tenant or, with PATCH, changes the fields it sets.
type TenantInput struct {
	Name         *string   `json:"name"`
	DefaultModel *string   `json:"default_model"`
	Models       *[]string `json:"models"`
	UserLimits   *Limits   `json:"user_limits"`
	Disabled     *bool     `json:"disabled"`
}

func (in TenantInput) apply(t *account.Tenant) {
	if in.Name != nil {
		t.Name = *in.Name
	}
	if in.DefaultModel != nil {
		t.DefaultModel = *in.DefaultModel
	}
	if in.Models != nil {
		t.Models = *in.Models
	}
	if in.UserLimits != nil {
		t.Limits = in.UserLimits.account()
	}
	if in.Disabled != nil {
		t.Disabled = *in.Disabled
	}
}

func (a *API) listTenants(w http.ResponseWriter, r *http.Request) {
	ts, err := a.accounts.Tenants.List(r.Context())
	if err != nil {
		fail(w, err)
		return
	}
	out := list[Tenant]{Data: []Tenant{}}
	for i := range ts {
		out.Data = append(out.Data, tenantOf(&ts[i]))
	}
	reply(w, http.StatusOK, out)
}

func (a *API) createTenant(w http.ResponseWriter, r *http.Request) {
	var in TenantInput
	if err := decode(r, &in); err != nil {
		fail(w, err)
		return
	}
	var t account.Tenant
	in.apply(&t)
	created, err := a.accounts.Tenants.Create(r.Context(), t)
	if err != nil {
		fail(w, err)
		return
	}
	reply(w, http.StatusCreated, tenantOf(created))
}

// tenant finds the {tenant} of the path by id or by name.
func (a *API) tenant(r *http.Request) (*account.Tenant, error) {
	return a.tenantByRef(r, r.PathValue("tenant"))
}

// tenantByRef finds a tenant by id or by name.
func (a *API) tenantByRef(r *http.Request, ref string) (*account.Tenant, error) {
	t, err := a.accounts.Tenants.Get(r.Context(), ref)
	if err == nil {
		return t, nil
	}
	return a.accounts.Tenants.GetByName(r.Context(), ref)
}

func (a *API) getTenant(w http.ResponseWriter, r *http.Request) {
	t, err := a.tenant(r)
	if err != nil {
		fail(w, err)
		return
	}
	reply(w, http.StatusOK, tenantOf(t))
}

func (a *API) updateTenant(w http.ResponseWriter, r *http.Request) {
	t, err := a.tenant(r)
	if err != nil {
		fail(w, err)
		return
	}
	var in TenantInput
	if err := decode(r, &in); err != nil {
		fail(w, err)
		return
	}
	in.apply(t)
	updated, err := a.accounts.Tenants.Update(r.Context(), *t)
	if err != nil {
		fail(w, err)
		return
	}
	reply(w, http.StatusOK, tenantOf(updated))
}

func (a *API) deleteTenant(w http.ResponseWriter, r *http.Request) {
	t, err := a.tenant(r)
	if err == nil {
		err = a.accounts.Tenants.Delete(r.Context(), t.ID)
	}
	if err != nil {
		fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
