package console

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/config"
	"github.com/firebreak/firebreak/staff"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/upstream"
)

func (c *Console) tenantRoutes() {
	c.add("GET /console/tenants", staff.ViewTenants, c.tenantsPage).Scoped = true
	c.add("POST /console/tenants", staff.ManageTenants, c.createTenant)
	c.add("GET /console/tenants/{tenant}", staff.ViewTenants, c.tenantPage).Scoped = true
	c.add("POST /console/tenants/{tenant}/keys", staff.ManageTenants, c.createKey)
	c.add("POST /console/tenants/{tenant}/keys/{key}/revoke", staff.ManageTenants, c.revokeKey)
	if c.opts.Catalog != nil {
		c.add("GET /console/models", staff.ViewCatalog, c.modelsPage)
	}
	c.catalogRoutes()
}

type tenantsView struct {
	Tenants []account.Tenant
	Flash   string
	Error   string
}

func (c *Console) tenantsPage(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	ts, err := c.opts.Accounts.Tenants.List(r.Context())
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	v := tenantsView{Flash: r.URL.Query().Get("flash")}
	for _, t := range ts {
		if p.Member.InTenant(t.ID) {
			v.Tenants = append(v.Tenants, t)
		}
	}
	c.render(w, r, p, "tenants", "nav.tenants", v)
}

func (c *Console) createTenant(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	note(w, "name", name)
	t, err := c.opts.Accounts.Tenants.Create(r.Context(), account.Tenant{Name: name, DefaultModel: r.PostFormValue("default_model")})
	if errors.Is(err, account.ErrInvalid) || errors.Is(err, account.ErrNameTaken) {
		ts, _ := c.opts.Accounts.Tenants.List(r.Context())
		w.WriteHeader(http.StatusBadRequest)
		c.render(w, r, p, "tenants", "nav.tenants", tenantsView{Tenants: ts, Error: err.Error()})
		return
	}
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	http.Redirect(w, r, "/console/tenants/"+t.ID+"?flash=tenants.created", http.StatusSeeOther)
}

type keyRow struct {
	account.Key
	Used int64
}

type tenantView struct {
	Tenant *account.Tenant
	Keys   []keyRow
	NewKey string
	Flash  string
	Detail string // the domain's reason a change was refused
}

// tenant finds the {tenant} of the path (id or name) within the member's
// tenants.
func (c *Console) tenant(w http.ResponseWriter, r *http.Request, p *staff.Principal) (*account.Tenant, bool) {
	ref := r.PathValue("tenant")
	t, err := c.opts.Accounts.Tenants.Get(r.Context(), ref)
	if errors.Is(err, store.ErrNotFound) {
		t, err = c.opts.Accounts.Tenants.GetByName(r.Context(), ref)
	}
	switch {
	case errors.Is(err, store.ErrNotFound) || (err == nil && !p.Member.InTenant(t.ID)):
		c.errorPage(w, r, p, http.StatusNotFound)
		return nil, false
	case err != nil:
		c.fail(w, r, p, err)
		return nil, false
	}
	return t, true
}

func (c *Console) tenantView(r *http.Request, t *account.Tenant) (tenantView, error) {
	ks, err := c.opts.Accounts.Keys.List(r.Context(), t.ID)
	if err != nil {
		return tenantView{}, err
	}
	v := tenantView{Tenant: t, Flash: r.URL.Query().Get("flash")}
	for _, k := range ks {
		used, err := c.opts.Accounts.Usage(r.Context(), "key:"+k.ID)
		if err != nil {
			return v, err
		}
		v.Keys = append(v.Keys, keyRow{Key: k, Used: used})
	}
	return v, nil
}

func (c *Console) tenantPage(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	t, ok := c.tenant(w, r, p)
	if !ok {
		return
	}
	v, err := c.tenantView(r, t)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	c.render(w, r, p, "tenant", "nav.tenants", v)
}

func (c *Console) createKey(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	t, ok := c.tenant(w, r, p)
	if !ok {
		return
	}
	rpm, _ := strconv.Atoi(r.PostFormValue("rpm"))
	quota, _ := strconv.ParseInt(r.PostFormValue("token_quota"), 10, 64)
	name := strings.TrimSpace(r.PostFormValue("name"))
	note(w, "name", name)
	_, secret, err := c.opts.Accounts.Keys.Create(r.Context(), account.Key{TenantID: t.ID, Name: name,
		Limits: account.Limits{RPM: rpm, TokenQuota: quota}})
	if err != nil && !errors.Is(err, account.ErrInvalid) {
		c.fail(w, r, p, err)
		return
	}
	v, verr := c.tenantView(r, t)
	if verr != nil {
		c.fail(w, r, p, verr)
		return
	}
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		v.Flash = "tenants.key_invalid"
	}
	v.NewKey = secret // shown once, on this response only
	c.render(w, r, p, "tenant", "nav.tenants", v)
}

func (c *Console) revokeKey(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	t, ok := c.tenant(w, r, p)
	if !ok {
		return
	}
	k, err := c.opts.Accounts.Keys.Get(r.Context(), r.PathValue("key"))
	if errors.Is(err, store.ErrNotFound) || (err == nil && k.TenantID != t.ID) {
		c.errorPage(w, r, p, http.StatusNotFound)
		return
	}
	if err == nil {
		err = c.opts.Accounts.Keys.Revoke(r.Context(), k.ID)
	}
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	http.Redirect(w, r, "/console/tenants/"+t.ID+"?flash=tenants.key_revoked", http.StatusSeeOther)
}

// catalogEntry is an upstream or model as the page lists it; Static ones
// come from the configuration file (or the demo) and cannot be changed here.
type catalogEntry[T any] struct {
	Value  T
	Static bool
}

type modelsView struct {
	Upstreams   []catalogEntry[config.Upstream]
	Models      []catalogEntry[config.Model]
	Routing     config.Routing
	RoutingYAML string // the domain rules as YAML, for the form
	Health      []upstream.TargetHealth
	Demo        bool
	Flash       string
	Error       string
	Detail      string // the domain's reason, as it gave it
}

func (c *Console) modelsPage(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	v, err := c.modelsView(r)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	c.render(w, r, p, "models", "nav.models", v)
}
