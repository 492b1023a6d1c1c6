package console_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/review"
	"github.com/firebreak/firebreak/staff"
)

// adminGet reads an admin API route with a personal token.
func (f *fixture) adminGet(t *testing.T, token, path string, v any) {
	t.Helper()
	req, _ := http.NewRequest("GET", f.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatal(err)
	}
}

// staffActions reads the staff actions on the trail, each as "actor name
// outcome details".
func (f *fixture) staffActions(t *testing.T) map[string]bool {
	t.Helper()
	es, err := f.trail.Search(context.Background(), audit.Query{Route: audit.RouteStaff, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range es {
		a, _ := e.Action()
		seen[strings.TrimSpace(a.Actor+" "+a.Name+" "+a.Outcome+" "+strings.Join(a.Details, " "))] = true
	}
	return seen
}

// TestEditCatalogAndTenant edits upstreams, public models, routing and a
// tenant's limits from the console, reads the result back through the
// admin API (the same services), checks refusals of bad input and of roles
// without the permission, and finds each change on the audit trail.
func TestEditCatalogAndTenant(t *testing.T) {
	f := newFixture(t, staff.Options{})
	f.member("root", staff.RoleAdmin)
	f.member("ann", staff.RoleAuditor)
	token := f.token("root")
	b := f.browser()
	if st := b.login("root", password); st != http.StatusSeeOther {
		t.Fatalf("login: %d", st)
	}
	b.do("GET", "/console/models", nil)
	post := func(path string, form url.Values) (int, string) {
		t.Helper()
		form.Set("csrf", b.csrf)
		st, _, body := b.do("POST", path, form)
		return st, body
	}
	if st, body := post("/console/models/upstreams", url.Values{"name": {"vllm-a"}, "base_url": {"http://127.0.0.1:9/v1"},
		"api_key_env": {"VLLM_KEY"}, "weight": {"3"}, "max_concurrent": {"8"}}); st != http.StatusSeeOther {
		t.Fatalf("put upstream: %d\n%s", st, body)
	}
	if st, body := post("/console/models/models", url.Values{"name": {"general"}, "domain": {"general"},
		"targets": {"vllm-a Qwen2.5-7B-Instruct\n"}}); st != http.StatusSeeOther {
		t.Fatalf("put model: %d\n%s", st, body)
	}
	if st, body := post("/console/models/models", url.Values{"name": {"coder"}, "targets": {"vllm-a Qwen2.5-Coder"}}); st != http.StatusSeeOther {
		t.Fatalf("put model: %d\n%s", st, body)
	}
	if st, body := post("/console/models/routing", url.Values{"general": {"general"},
		"domains": {"- domain: code\n  model: coder\n  keywords: [python, golang]\n"}}); st != http.StatusSeeOther {
		t.Fatalf("put routing: %d\n%s", st, body)
	}
	var ups struct {
		Data []struct {
			Value struct {
				Name          string `json:"name"`
				APIKeyEnv     string `json:"api_key_env"`
				Weight        int    `json:"weight"`
				MaxConcurrent int    `json:"max_concurrent"`
			} `json:"value"`
		} `json:"data"`
	}
	f.adminGet(t, token, "/admin/v1/upstreams", &ups)
	if len(ups.Data) != 1 || ups.Data[0].Value.Name != "vllm-a" || ups.Data[0].Value.APIKeyEnv != "VLLM_KEY" ||
		ups.Data[0].Value.Weight != 3 || ups.Data[0].Value.MaxConcurrent != 8 {
		t.Fatalf("upstreams through the admin API: %+v", ups.Data)
	}
	var entry struct {
		Value struct {
			General string `json:"general"`
			Domains []struct {
				Model    string   `json:"model"`
				Keywords []string `json:"keywords"`
			} `json:"domains"`
		} `json:"value"`
	}
	routing := &entry.Value
	f.adminGet(t, token, "/admin/v1/routing", &entry)
	if routing.General != "general" || len(routing.Domains) != 1 || routing.Domains[0].Model != "coder" || len(routing.Domains[0].Keywords) != 2 {
		t.Fatalf("routing through the admin API: %+v", routing)
	}
	// The page shows what was saved, the rules as YAML in the form.
	if _, _, page := b.do("GET", "/console/models", nil); !strings.Contains(page, "vllm-a:Qwen2.5-Coder") || !strings.Contains(page, "keywords:") {
		t.Fatalf("models page after the changes:\n%s", page)
	}

	// Refused input: a page with the reason, nothing saved.
	for name, c := range map[string]struct {
		path string
		form url.Values
		want string
	}{
		"credentials in the URL": {"/console/models/upstreams", url.Values{"name": {"bad"}, "base_url": {"http://user:hunter2@127.0.0.1:9/v1"}}, ""},
		"negative weight":        {"/console/models/upstreams", url.Values{"name": {"bad"}, "base_url": {"http://127.0.0.1:9/v1"}, "weight": {"-1"}}, "weight"},
		"unknown upstream":       {"/console/models/models", url.Values{"name": {"bad"}, "targets": {"nowhere m"}}, ""},
		"bad targets line":       {"/console/models/models", url.Values{"name": {"bad"}, "targets": {"only-one"}}, "targets line 1"},
		"bad YAML":               {"/console/models/routing", url.Values{"general": {"general"}, "domains": {"- domain: [\n"}}, "domain rules"},
		"unknown YAML field":     {"/console/models/routing", url.Values{"general": {"general"}, "domains": {"- modle: coder\n"}}, "modle"},
		"routing to no model":    {"/console/models/routing", url.Values{"general": {"nothing"}}, ""},
	} {
		st, body := post(c.path, c.form)
		if st != http.StatusBadRequest || !strings.Contains(body, `id="models-error"`) || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d, want 400 with %q", name, st, c.want)
		}
		if strings.Contains(body, "hunter2") {
			t.Errorf("%s: the page shows the password from the URL", name)
		}
	}
	f.adminGet(t, token, "/admin/v1/upstreams", &ups)
	f.adminGet(t, token, "/admin/v1/routing", &entry)
	if len(ups.Data) != 1 || routing.General != "general" {
		t.Fatalf("a refused change was saved: %+v %+v", ups.Data, routing)
	}

	// Deleting the model the rules route to is refused; the other one goes.
	if st, _ := post("/console/models/models/coder/delete", url.Values{}); st != http.StatusBadRequest {
		t.Errorf("delete a routed model: %d, want 400", st)
	}
	if st, _ := post("/console/models/routing", url.Values{"general": {"general"}}); st != http.StatusSeeOther {
		t.Fatalf("routing without rules: %d", st)
	}
	if st, _ := post("/console/models/models/coder/delete", url.Values{}); st != http.StatusSeeOther {
		t.Errorf("delete model: %d", st)
	}

	// A tenant's settings and limits.
	st, hdr, _ := b.do("POST", "/console/tenants", url.Values{"csrf": {b.csrf}, "name": {"acme"}})
	if st != http.StatusSeeOther {
		t.Fatalf("create tenant: %d", st)
	}
	tenantPath := strings.TrimSuffix(strings.Split(hdr.Get("Location"), "?")[0], "/")
	b.do("GET", tenantPath, nil)
	if st, body := post(tenantPath, url.Values{"default_model": {"general"}, "models": {"general, coder"}, "rpm": {"60"},
		"concurrent": {"2"}, "tpm": {"10000"}, "token_quota": {"500000"}}); st != http.StatusSeeOther {
		t.Fatalf("update tenant: %d\n%s", st, body)
	}
	var tenant struct {
		DefaultModel string   `json:"default_model"`
		Models       []string `json:"models"`
		Limits       struct {
			RPM        int   `json:"rpm"`
			Concurrent int   `json:"concurrent"`
			TPM        int   `json:"tpm"`
			TokenQuota int64 `json:"token_quota"`
		} `json:"user_limits"`
	}
	f.adminGet(t, token, "/admin/v1"+strings.TrimPrefix(tenantPath, "/console"), &tenant)
	if tenant.DefaultModel != "general" || len(tenant.Models) != 2 || tenant.Limits.RPM != 60 || tenant.Limits.Concurrent != 2 ||
		tenant.Limits.TPM != 10000 || tenant.Limits.TokenQuota != 500000 {
		t.Fatalf("tenant through the admin API: %+v", tenant)
	}
	if st, _ := post(tenantPath, url.Values{"rpm": {"-5"}}); st != http.StatusBadRequest {
		t.Errorf("negative rpm: %d, want 400", st)
	}

	// An auditor sees the models page without forms and may not change it.
	a := f.browser()
	a.login("ann", password)
	if _, _, page := a.do("GET", "/console/models", nil); strings.Contains(page, `id="upstream-form"`) || !strings.Contains(page, "vllm-a") {
		t.Error("the auditor's models page offers the forms or lacks the upstreams")
	}
	for _, path := range []string{"/console/models/upstreams", "/console/models/routing", tenantPath} {
		if st, _, _ := a.do("POST", path, url.Values{"csrf": {a.csrf}, "name": {"x"}, "general": {"x"}}); st != http.StatusForbidden {
			t.Errorf("auditor POST %s: %d, want 403", path, st)
		}
	}

	// Every change is on the trail with what it named.
	seen := f.staffActions(t)
	for _, want := range []string{
		"root console POST /console/models/upstreams ok upstream=vllm-a",
		"root console POST /console/models/routing ok general=general",
		"root console POST /console/models/models/{name}/delete ok model=coder",
		"root console POST /console/tenants/{tenant} ok tenant=" + strings.TrimPrefix(tenantPath, "/console/tenants/") +
			" limits=rpm=60,concurrent=2,tpm=10000,token_quota=500000",
		"ann console POST /console/models/upstreams denied",
	} {
		if !seen[want] {
			t.Errorf("no staff action %q on the trail", want)
		}
	}
	if t.Failed() {
		for k := range seen {
			t.Log(k)
		}
	}
}

// TestComplaintViewIsRecorded: a complaint's page shows its decrypted
// text; the view is a staff action on the trail, as a record's content is.
func TestComplaintViewIsRecorded(t *testing.T) {
	f := newFixture(t, staff.Options{})
	f.member("rita", staff.RoleReviewer)
	c, err := f.complaints.Create(context.Background(), audit.Complaint{Category: "other", Text: "the complaint's text"})
	if err != nil {
		t.Fatal(err)
	}
	b := f.browser()
	if st := b.login("rita", password); st != http.StatusSeeOther {
		t.Fatalf("login: %d", st)
	}
	if st, _, body := b.do("GET", "/console/complaints/"+c.ID, nil); st != 200 || !strings.Contains(body, "the complaint&#39;s text") {
		t.Fatalf("complaint page: %d %s", st, body)
	}
	if !f.staffActions(t)["rita console GET /console/complaints/{id} ok complaint="+c.ID] {
		t.Errorf("the view is not on the trail: %v", f.staffActions(t))
	}
	// On the review desk too: the complaint's item shows the text to a
	// member who may read content, and records the view.
	if err := f.review.EnqueueComplaint(context.Background(), *c); err != nil {
		t.Fatal(err)
	}
	items, err := f.review.List(context.Background(), review.Filter{Source: review.SourceComplaint})
	if err != nil || len(items) != 1 {
		t.Fatalf("queue: %v %v", items, err)
	}
	if st, _, body := b.do("GET", "/console/review/items/"+items[0].ID, nil); st != 200 || !strings.Contains(body, "the complaint&#39;s text") {
		t.Fatalf("desk item: %d %s", st, body)
	}
	if !f.staffActions(t)["rita console view complaint text ok item="+items[0].ID] {
		t.Errorf("the desk's view is not on the trail: %v", f.staffActions(t))
	}
}
