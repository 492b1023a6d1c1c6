package console

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/catalog"
	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/config"
	"github.com/firebreak/firebreak/staff"
)

// Editing the catalog (upstreams, public models, 1+N routing) and a
// tenant's settings and limits. Each form goes through the same domain
// service as the admin API (catalog.Catalog, account.Tenants), so the same
// checks hold; the console's handler checks the permission and the CSRF
// token and records each change, with what it named, on the audit trail.

func (c *Console) catalogRoutes() {
	c.add("POST /console/tenants/{tenant}", staff.ManageTenants, c.updateTenant)
	if c.opts.Catalog == nil {
		return
	}
	c.add("POST /console/models/upstreams", staff.ManageCatalog, c.putUpstream)
	c.add("POST /console/models/upstreams/{name}/delete", staff.ManageCatalog, c.deleteEntry("upstream", c.opts.Catalog.DeleteUpstream))
	c.add("POST /console/models/models", staff.ManageCatalog, c.putModel)
	c.add("POST /console/models/models/{name}/delete", staff.ManageCatalog, c.deleteEntry("model", c.opts.Catalog.DeleteModel))
	c.add("POST /console/models/routing", staff.ManageCatalog, c.putRouting)
}

// rejected shows the models page again with the reason a change was
// refused: a client-safe domain message, else a 500.
func (c *Console) rejected(w http.ResponseWriter, r *http.Request, p *staff.Principal, err error) {
	ce := clienterr.As(err)
	if ce.Code == clienterr.Internal {
		c.fail(w, r, p, err)
		return
	}
	v, verr := c.modelsView(r)
	if verr != nil {
		c.fail(w, r, p, verr)
		return
	}
	v.Error, v.Detail = "models.invalid", ce.Message
	v.RoutingYAML = r.PostFormValue("domains")
	w.WriteHeader(http.StatusBadRequest)
	c.render(w, r, p, "models", "nav.models", v)
}

// formInt reads a non-negative whole number field; empty is 0.
func formInt(r *http.Request, name string) (int64, error) {
	v := strings.TrimSpace(r.PostFormValue(name))
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, clienterr.Errorf(clienterr.InvalidRequest, "%s: want a whole number, 0 or more", name)
	}
	return n, nil
}

func (c *Console) putUpstream(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	u := config.Upstream{Name: strings.TrimSpace(r.PostFormValue("name")), BaseURL: strings.TrimSpace(r.PostFormValue("base_url")),
		APIKeyEnv: strings.TrimSpace(r.PostFormValue("api_key_env"))}
	note(w, "upstream", u.Name)
	weight, err := formInt(r, "weight")
	var conc int64
	if err == nil {
		conc, err = formInt(r, "max_concurrent")
	}
	u.Weight, u.MaxConcurrent = int(weight), int(conc)
	if err == nil && u.Name == "" {
		err = clienterr.Errorf(clienterr.InvalidRequest, "an upstream needs a name")
	}
	if err == nil {
		err = c.opts.Catalog.PutUpstream(r.Context(), u)
	}
	c.saved(w, r, p, err, "models.saved")
}

// deleteEntry deletes the catalog entry {name} of one kind.
func (c *Console) deleteEntry(kind string, del func(context.Context, string) error) func(http.ResponseWriter, *http.Request, *staff.Principal) {
	return func(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
		note(w, kind, r.PathValue("name"))
		c.saved(w, r, p, del(r.Context(), r.PathValue("name")), "models.deleted")
	}
}

// saved answers a catalog change: back to the models page with flash, or
// the page with the reason it was refused.
func (c *Console) saved(w http.ResponseWriter, r *http.Request, p *staff.Principal, err error, flash string) {
	if err != nil {
		c.rejected(w, r, p, err)
		return
	}
	http.Redirect(w, r, "/console/models?flash="+flash, http.StatusSeeOther)
}

// putModel saves a public model; its targets are one "upstream model"
// pair a line.
func (c *Console) putModel(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	m := config.Model{Name: strings.TrimSpace(r.PostFormValue("name")), Domain: strings.TrimSpace(r.PostFormValue("domain")),
		Description: strings.TrimSpace(r.PostFormValue("description"))}
	note(w, "model", m.Name)
	var err error
	for i, line := range strings.Split(r.PostFormValue("targets"), "\n") {
		f := strings.Fields(line)
		switch len(f) {
		case 0:
		case 2:
			m.Targets = append(m.Targets, config.Target{Upstream: f[0], Model: f[1]})
		default:
			err = clienterr.Errorf(clienterr.InvalidRequest, "targets line %d: want an upstream and its model name", i+1)
		}
	}
	if err == nil && m.Name == "" {
		err = clienterr.Errorf(clienterr.InvalidRequest, "a model needs a name")
	}
	if err == nil {
		err = c.opts.Catalog.PutModel(r.Context(), m)
	}
	c.saved(w, r, p, err, "models.saved")
}

// putRouting saves the 1+N routing: the general model, and the domain
// rules as YAML, in the configuration file's form.
func (c *Console) putRouting(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	rt := config.Routing{General: strings.TrimSpace(r.PostFormValue("general"))}
	note(w, "general", rt.General)
	var err error
	if src := r.PostFormValue("domains"); strings.TrimSpace(src) != "" {
		dec := yaml.NewDecoder(strings.NewReader(src))
		dec.KnownFields(true)
		if yerr := dec.Decode(&rt.Domains); yerr != nil {
			err = clienterr.Errorf(clienterr.InvalidRequest, "domain rules: %s", strings.TrimPrefix(yerr.Error(), "yaml: "))
		}
	}
	if err == nil {
		err = c.opts.Catalog.PutRouting(r.Context(), rt)
	}
	c.saved(w, r, p, err, "models.saved")
}

// updateTenant saves a tenant's default model, allowed models, state and
// the default limits of each of its end users.
func (c *Console) updateTenant(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	t, ok := c.tenant(w, r, p)
	if !ok {
		return
	}
	note(w, "tenant", t.ID)
	t.DefaultModel = strings.TrimSpace(r.PostFormValue("default_model"))
	t.Models = nil
	for _, m := range strings.FieldsFunc(r.PostFormValue("models"), func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }) {
		t.Models = append(t.Models, m)
	}
	t.Disabled = r.PostFormValue("disabled") != ""
	var vals [4]int64
	var err error
	for i, name := range []string{"rpm", "concurrent", "tpm", "token_quota"} {
		if vals[i], err = formInt(r, name); err != nil {
			break
		}
	}
	if err == nil {
		t.Limits = account.Limits{RPM: int(vals[0]), Concurrent: int(vals[1]), TPM: int(vals[2]), TokenQuota: vals[3]}
		note(w, "limits", strings.Join([]string{"rpm=" + strconv.FormatInt(vals[0], 10), "concurrent=" + strconv.FormatInt(vals[1], 10),
			"tpm=" + strconv.FormatInt(vals[2], 10), "token_quota=" + strconv.FormatInt(vals[3], 10)}, ","))
		_, err = c.opts.Accounts.Tenants.Update(r.Context(), *t)
	}
	if ce := clienterr.As(err); err != nil && ce.Code != clienterr.Internal {
		v, verr := c.tenantView(r, t)
		if verr != nil {
			c.fail(w, r, p, verr)
			return
		}
		v.Flash, v.Detail = "tenants.invalid", ce.Message
		w.WriteHeader(http.StatusBadRequest)
		c.render(w, r, p, "tenant", "nav.tenants", v)
		return
	}
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	http.Redirect(w, r, "/console/tenants/"+t.ID+"?flash=tenants.saved", http.StatusSeeOther)
}

// modelsView gathers the models page.
func (c *Console) modelsView(r *http.Request) (modelsView, error) {
	v := modelsView{Demo: c.opts.Catalog.Demo(), Health: c.opts.Catalog.Router().Health(), Flash: r.URL.Query().Get("flash")}
	us, err := c.opts.Catalog.Upstreams(r.Context())
	if err != nil {
		return v, err
	}
	for _, u := range us {
		v.Upstreams = append(v.Upstreams, catalogEntry[config.Upstream]{Value: u.Value.Redacted(), Static: u.Source != catalog.SourceAdmin})
	}
	ms, err := c.opts.Catalog.Models(r.Context())
	if err != nil {
		return v, err
	}
	for _, m := range ms {
		v.Models = append(v.Models, catalogEntry[config.Model]{Value: m.Value, Static: m.Source != catalog.SourceAdmin})
	}
	rt, err := c.opts.Catalog.Routing(r.Context())
	if err != nil {
		return v, err
	}
	v.Routing = rt.Value
	if len(rt.Value.Domains) > 0 {
		b, err := yaml.Marshal(rt.Value.Domains)
		if err != nil {
			return v, err
		}
		v.RoutingYAML = string(b)
	}
	return v, nil
}
