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
	"github.com/firebreak/firebreak/console"
	"github.com/firebreak/firebreak/identity"
	"github.com/firebreak/firebreak/safety"
	"github.com/firebreak/firebreak/staff"
)

// TestLimitedMemberSeesOnlyItsTenants attacks the routes a member limited
// to tenants may use, with the ids and names of another tenant's objects
// (records, the record's content, tenants, end users, sanctions), through
// the console and the admin API: each is refused or not found, nothing of
// the other tenant shows, and the same requests on the member's own
// tenant succeed.
func TestLimitedMemberSeesOnlyItsTenants(t *testing.T) {
	f := newFixture(t, staff.Options{}, func(o *console.Options) { o.Identity = phoneVerified{} })
	f.member("root", staff.RoleAdmin)
	root := f.token("root")
	call := func(token, method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, f.url+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	ids := map[string]string{}       // tenant name → id
	sanctions := map[string]string{} // tenant name → a sanction of its user u1
	records := map[string]string{}   // tenant name → a flagged record
	for _, name := range []string{"alpha-co", "beta-co"} {
		var tn struct{ ID string }
		if st, b := call(root, "POST", "/admin/v1/tenants", `{"name":"`+name+`"}`); st != 201 || json.Unmarshal([]byte(b), &tn) != nil {
			t.Fatalf("create %s: %d %s", name, st, b)
		}
		ids[name] = tn.ID
		var sa struct{ ID string }
		if st, b := call(root, "POST", "/admin/v1/tenants/"+name+"/users/u1/sanctions", `{"action":"suspend","reason":"test"}`); st != 201 || json.Unmarshal([]byte(b), &sa) != nil {
			t.Fatalf("sanction in %s: %d %s", name, st, b)
		}
		sanctions[name] = sa.ID
		rec := audit.Record{Time: f.clock.Now(), RequestID: "req-" + name, TenantID: tn.ID, EndUser: "eu-" + name, KeyID: "k",
			Model: "chat", Route: "direct", Status: 200, Outcome: audit.OutcomeRefused, PolicyVersion: "v1",
			Input:   audit.Decision{Action: safety.Refuse, Code: "A1a", Hits: []audit.Hit{{Detector: "lexicon", Rule: "r", Code: "A1a", Action: safety.Refuse}}},
			Content: audit.Content{Prompt: "secret prompt of " + name, Answer: "answer"}}
		rec.ID = audit.NewID(rec.Time)
		if err := f.trail.Append(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
		records[name] = rec.ID
	}
	f.member("aud", staff.RoleAuditor, ids["alpha-co"])
	f.member("rev", staff.RoleReviewer, ids["alpha-co"])
	aud, rev := f.browser(), f.browser()
	for name, b := range map[string]*browser{"aud": aud, "rev": rev} {
		if st := b.login(name, password); st != http.StatusSeeOther {
			t.Fatalf("login %s: %d", name, st)
		}
	}
	audToken := f.token("aud")

	for _, tc := range []struct {
		name, own, other string // own: the request on the member's tenant; other: on beta-co
		do               func(path string) (int, string)
		okOwn            func(st int, body string) bool
		okOther          func(st int, body string) bool
	}{
		{name: "record", own: "/console/audit/records/" + records["alpha-co"], other: "/console/audit/records/" + records["beta-co"],
			do: func(p string) (int, string) { st, _, b := aud.do("GET", p, nil); return st, b }},
		{name: "record content", own: "/console/audit/records/" + records["alpha-co"] + "/content", other: "/console/audit/records/" + records["beta-co"] + "/content",
			do: func(p string) (int, string) {
				st, _, b := aud.do("POST", p, url.Values{"csrf": {aud.csrf}})
				return st, b
			}},
		{name: "audit search", own: "/console/audit?tenant=" + ids["alpha-co"], other: "/console/audit?tenant=" + ids["beta-co"],
			do: func(p string) (int, string) { st, _, b := aud.do("GET", p, nil); return st, b }},
		{name: "audit export", own: "/console/audit/export?tenant=" + ids["alpha-co"], other: "/console/audit/export?tenant=" + ids["beta-co"],
			do: func(p string) (int, string) { st, _, b := aud.do("GET", p, nil); return st, b }},
		{name: "tenant page by name", own: "/console/tenants/alpha-co", other: "/console/tenants/beta-co",
			do: func(p string) (int, string) { st, _, b := aud.do("GET", p, nil); return st, b }},
		{name: "end user", own: "/console/users?tenant=alpha-co&user=u1", other: "/console/users?tenant=beta-co&user=u1",
			do: func(p string) (int, string) { st, _, b := rev.do("GET", p, nil); return st, b },
			okOwn: func(st int, b string) bool { // the page of a found user renders (it was a 500), with the level
				return st == http.StatusOK && strings.Contains(b, `<b id="standing">suspend</b>`) && strings.Contains(b, ": phone")
			},
			okOther: func(st int, b string) bool { return !strings.Contains(b, `id="standing"`) }},
		{name: "lift a sanction", own: "/console/sanctions/" + sanctions["alpha-co"] + "/lift", other: "/console/sanctions/" + sanctions["beta-co"] + "/lift",
			do: func(p string) (int, string) {
				st, _, b := rev.do("POST", p, url.Values{"csrf": {rev.csrf}, "reason": {"appeal"}})
				return st, b
			},
			okOwn: func(st int, _ string) bool { return st == http.StatusSeeOther }},
		{name: "impose a sanction", own: "/console/users/sanctions?tenant=alpha-co", other: "/console/users/sanctions?tenant=beta-co",
			do: func(p string) (int, string) {
				u, _ := url.Parse(p)
				st, _, b := rev.do("POST", u.Path, url.Values{"csrf": {rev.csrf}, "tenant": {u.Query().Get("tenant")}, "user": {"u1"},
					"action": {"warn"}, "reason": {"r"}})
				return st, b
			},
			okOwn: func(st int, _ string) bool { return st == http.StatusSeeOther }},
		{name: "API standing", own: "/admin/v1/tenants/alpha-co/users/u1", other: "/admin/v1/tenants/beta-co/users/u1",
			do: func(p string) (int, string) { return call(audToken, "GET", p, "") }},
		{name: "API access request", own: "/admin/v1/tenants/alpha-co/users/u1/records", other: "/admin/v1/tenants/beta-co/users/u1/records",
			do: func(p string) (int, string) { return call(audToken, "GET", p, "") }},
		{name: "API audit search", own: "/admin/v1/audit?tenant=alpha-co", other: "/admin/v1/audit?tenant=beta-co",
			do: func(p string) (int, string) { return call(audToken, "GET", p, "") }},
	} {
		okOwn, okOther := tc.okOwn, tc.okOther
		if okOwn == nil {
			okOwn = func(st int, _ string) bool { return st == http.StatusOK }
		}
		if okOther == nil {
			okOther = func(st int, _ string) bool {
				return st == http.StatusNotFound || st == http.StatusForbidden || st == http.StatusBadRequest
			}
		}
		if st, b := tc.do(tc.other); !okOther(st, b) || strings.Contains(b, "secret prompt of beta-co") {
			t.Errorf("%s of another tenant: %d %.300s", tc.name, st, b)
		}
		if st, b := tc.do(tc.own); !okOwn(st, b) {
			t.Errorf("%s of the member's tenant: %d %.300s", tc.name, st, b)
		}
	}
	var standing struct{ Standing string }
	f.adminGet(t, root, "/admin/v1/tenants/beta-co/users/u1", &standing)
	if standing.Standing != "suspend" {
		t.Errorf("beta-co's user after the attempts: %+v", standing)
	}
}

// phoneVerified says every end user verified a phone number.
type phoneVerified struct{}

func (phoneVerified) State(_ context.Context, userID string) (*identity.State, error) {
	return &identity.State{UserID: userID, Level: identity.LevelPhone}, nil
}
