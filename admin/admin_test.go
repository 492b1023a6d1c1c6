package admin_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/admin"
	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/catalog"
	"github.com/firebreak/firebreak/policy"
	"github.com/firebreak/firebreak/sanction"
	"github.com/firebreak/firebreak/staff"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

type client struct {
	t     *testing.T
	url   string
	token string
	// staff, trail and bootstrap are the parts behind the API.
	staff     *staff.Service
	trail     *audit.Trail
	bootstrap string
}

// as returns a client with another token.
func (c client) as(token string) client { c.token = token; return c }

// member creates a staff member and returns a client with its token.
func (c client) member(name string, role staff.Role, tenants ...string) client {
	c.t.Helper()
	ctx := context.Background()
	m, err := c.staff.Create(ctx, staff.NewMember{Name: name, Role: role, Tenants: tenants})
	if err != nil {
		c.t.Fatal(err)
	}
	_, secret, err := c.staff.CreateToken(ctx, m.ID, "test", 0)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.as(secret)
}

func (c client) call(method, path, body string) (int, map[string]any) {
	c.t.Helper()
	status, b := c.raw(method, path, body)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return status, out
}

// raw sends a call with the client's token and returns the status and
// body.
func (c client) raw(method, path, body string) (int, []byte) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func newAPI(t *testing.T, db *store.DB) client {
	t.Helper()
	return newAPIWith(t, db, nil)
}

// newAPIWith is newAPI with the options changed by set.
func newAPIWith(t *testing.T, db *store.DB, set func(*admin.Options)) client {
	t.Helper()
	ctx := context.Background()
	accounts, err := account.New(account.Options{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { accounts.Close() })
	boot, err := accounts.Bootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.New(ctx, catalog.Options{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	sanctions, err := sanction.New(ctx, sanction.Options{DB: db, Secret: []byte("a secret of sufficient length")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sanctions.Close() })
	trail, err := audit.New(audit.Options{DB: db, CheckpointEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { trail.Close() })
	complaints, err := audit.NewComplaints(audit.ComplaintOptions{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	people, err := staff.New(staff.Options{DB: db, Secret: []byte("a secret of sufficient length"),
		Argon2: staff.Argon2{Memory: 64, Time: 1, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.New(ctx, policy.Options{DB: db, Fallback: policy.Default()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pol.Close() })
	opts := admin.Options{Accounts: accounts, Catalog: cat, Staff: people, Sanctions: sanctions,
		Policy: pol, Trail: trail, Complaints: complaints}
	if set != nil {
		set(&opts)
	}
	api, err := admin.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	c := client{t: t, url: srv.URL, staff: people, trail: trail, bootstrap: boot.AdminToken}
	return c.member("admin", staff.RoleAdmin)
}

func TestAdminAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		c := newAPI(t, db)
		steps := []struct {
			name, method, path, body string
			status                   int
			check                    func(map[string]any) bool
		}{
			{"list tenants", "GET", "/admin/v1/tenants", "", 200, func(m map[string]any) bool { return len(m["data"].([]any)) == 1 }},
			{"create tenant", "POST", "/admin/v1/tenants", `{"name":"shop","user_limits":{"rpm":30}}`, 201, func(m map[string]any) bool { return m["name"] == "shop" }},
			{"duplicate tenant", "POST", "/admin/v1/tenants", `{"name":"shop"}`, 409, nil},
			{"unknown field", "POST", "/admin/v1/tenants", `{"nme":"x"}`, 400, nil},
			{"bad tenant name", "POST", "/admin/v1/tenants", `{"name":"no spaces"}`, 400, nil},
			{"update tenant", "PATCH", "/admin/v1/tenants/shop", `{"default_model":"general"}`, 200, func(m map[string]any) bool { return m["default_model"] == "general" }},
			{"unknown tenant", "GET", "/admin/v1/tenants/nope", "", 404, nil},
			{"create key", "POST", "/admin/v1/tenants/shop/keys", `{"name":"web","limits":{"rpm":600}}`, 201, func(m map[string]any) bool { return strings.HasPrefix(m["key"].(string), "fbk_") }},
			{"keys hide secrets", "GET", "/admin/v1/tenants/shop/keys", "", 200, func(m map[string]any) bool {
				k := m["data"].([]any)[0].(map[string]any)
				return k["key"] == nil && k["prefix"] != ""
			}},
			{"upstream with a plain key refused", "PUT", "/admin/v1/upstreams/a", `{"base_url":"http://127.0.0.1:1/v1","api_key":"sk-x"}`, 400, nil},
			{"upstream", "PUT", "/admin/v1/upstreams/a", `{"base_url":"http://127.0.0.1:1/v1","api_key_env":"A_KEY"}`, 200, nil},
			{"model on unknown upstream", "PUT", "/admin/v1/models/m", `{"targets":[{"upstream":"zz"}]}`, 400, nil},
			{"model", "PUT", "/admin/v1/models/general", `{"targets":[{"upstream":"a","model":"qwen"}]}`, 200, nil},
			{"name mismatch", "PUT", "/admin/v1/models/general", `{"name":"other","targets":[{"upstream":"a"}]}`, 400, nil},
			{"routing", "PUT", "/admin/v1/routing", `{"general":"general","domains":[{"domain":"x","model":"general","keywords":["k"]}]}`, 200, nil},
			{"health", "GET", "/admin/v1/health", "", 200, func(m map[string]any) bool { return m["demo"] == false }},
			{"blacklist an address", "POST", "/admin/v1/blacklist", `{"kind":"ip","value":"203.0.113.0/24","reason":"abuse"}`, 201, nil},
			{"blacklist a phone", "POST", "/admin/v1/blacklist", `{"kind":"phone","value":"13812345678","reason":"fraud","tenant":"shop"}`, 201,
				func(m map[string]any) bool { return !strings.Contains(m["value"].(string), "1381234") }},
			{"bad blacklist kind", "POST", "/admin/v1/blacklist", `{"kind":"planet","value":"x","reason":"r"}`, 400, nil},
			{"list blacklist", "GET", "/admin/v1/blacklist", "", 200, func(m map[string]any) bool { return len(m["data"].([]any)) == 2 }},
			{"impose", "POST", "/admin/v1/tenants/shop/users/u1/sanctions", `{"action":"suspend","duration":"24h","reason":"manual review"}`, 201,
				func(m map[string]any) bool { return m["action"] == "suspend" && m["actor"] == "admin" }},
			{"standing", "GET", "/admin/v1/tenants/shop/users/u1", "", 200, func(m map[string]any) bool { return m["standing"] == "suspend" }},
			{"audit search", "GET", "/admin/v1/audit?tenant=shop", "", 200, func(m map[string]any) bool { return len(m["data"].([]any)) == 0 }},
			{"bad time", "GET", "/admin/v1/audit?from=yesterday", "", 400, nil},
			{"complaints", "GET", "/admin/v1/complaints?overdue=true", "", 200, nil},
			{"unknown endpoint", "GET", "/admin/v1/nothing", "", 404, nil},
		}
		for _, s := range steps {
			status, body := c.call(s.method, s.path, s.body)
			if status != s.status {
				t.Fatalf("%s: status %d, want %d (%v)", s.name, status, s.status, body)
			}
			if s.check != nil && !s.check(body) {
				t.Fatalf("%s: unexpected body %v", s.name, body)
			}
		}
		// A lift needs a reason and names its actor.
		_, st := c.call("GET", "/admin/v1/tenants/shop/users/u1", "")
		id := st["sanctions"].([]any)[0].(map[string]any)["id"].(string)
		if status, _ := c.call("POST", "/admin/v1/sanctions/"+id+"/lift", `{}`); status != 400 {
			t.Fatalf("lift without reason: %d", status)
		}
		if status, m := c.call("POST", "/admin/v1/sanctions/"+id+"/lift", `{"reason":"appeal granted"}`); status != 200 || m["lift_reason"] != "appeal granted" {
			t.Fatalf("lift: %d %v", status, m)
		}
	})
}

func TestAdminToken(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		c := newAPI(t, db)
		for _, token := range []string{"", "fba_wrong", c.token + "x"} {
			bad := client{t: t, url: c.url, token: token}
			if status, _ := bad.call("GET", "/admin/v1/tenants", ""); status != 401 {
				t.Errorf("token %q: status %d", token, status)
			}
		}
	})
}
