package admin_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/firebreak/firebreak/admin"

	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/staff"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

// The bootstrap token only creates admins; personal tokens act with their
// member's role and tenants; every change and refusal is on the audit
// trail under the person's name.
func TestStaffAuthorization(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		admin := newAPI(t, db)
		boot := admin.as(admin.bootstrap)
		if st, _ := boot.call("GET", "/admin/v1/tenants", ""); st != 403 {
			t.Fatalf("bootstrap lists tenants: %d", st)
		}
		if st, _ := boot.call("POST", "/admin/v1/staff", `{"name":"rev","role":"reviewer"}`); st != 403 {
			t.Fatalf("bootstrap creates a reviewer: %d", st)
		}
		st, body := boot.call("POST", "/admin/v1/staff", `{"name":"root","role":"admin","token":"cli"}`)
		if st != 201 || body["token"] == nil {
			t.Fatalf("bootstrap creates an admin: %d %v", st, body)
		}
		root := admin.as(body["token"].(string))
		if st, me := root.call("GET", "/admin/v1/me", ""); st != 200 || me["member"].(map[string]any)["name"] != "root" {
			t.Fatalf("me: %d %v", st, me)
		}
		if st, _ := root.call("POST", "/admin/v1/tenants", `{"name":"shop"}`); st != 201 {
			t.Fatalf("admin creates a tenant: %d", st)
		}
		_, shop := root.call("GET", "/admin/v1/tenants/shop", "")

		reviewer := admin.member("rita", staff.RoleReviewer)
		for _, c := range []struct{ method, path, body string }{
			{"GET", "/admin/v1/staff", ""},
			{"GET", "/admin/v1/policy/history", ""},
			{"POST", "/admin/v1/policy/publish", `{"files":{},"reason":"x"}`},
			{"POST", "/admin/v1/tenants", `{"name":"x"}`},
			{"GET", "/admin/v1/audit", ""},
		} {
			if st, _ := reviewer.call(c.method, c.path, c.body); st != 403 {
				t.Errorf("reviewer %s %s: %d, want 403", c.method, c.path, st)
			}
		}
		if st, _ := reviewer.call("POST", "/admin/v1/tenants/shop/users/u1/sanctions", `{"action":"warn","reason":"spam"}`); st != 201 {
			t.Fatalf("reviewer warns: %d", st)
		}
		// A reviewer limited to tenant "default" cannot touch "shop".
		limited := admin.member("lena", staff.RoleReviewer, "ten_other")
		if st, _ := limited.call("GET", "/admin/v1/tenants/shop/users/u1", ""); st != 403 {
			t.Fatalf("limited reviewer on another tenant: %d", st)
		}
		if st, _ := limited.call("GET", "/admin/v1/blacklist", ""); st != 403 {
			t.Fatalf("limited reviewer on a route of every tenant: %d", st)
		}
		shopOnly := admin.member("sam", staff.RoleAuditor, shop["id"].(string))
		if st, _ := shopOnly.call("GET", "/admin/v1/tenants/shop/users/u1", ""); st != 200 {
			t.Fatalf("limited auditor on its tenant: %d", st)
		}
		if st, _ := shopOnly.call("GET", "/admin/v1/audit?tenant=default", ""); st != 403 {
			t.Fatalf("limited auditor searches another tenant: %d", st)
		}
		if st, _ := shopOnly.call("GET", "/admin/v1/audit", ""); st != 200 {
			t.Fatalf("limited auditor searches its tenant: %d", st)
		}

		// The record of each change names the person.
		es, err := admin.trail.Search(context.Background(), audit.Query{Route: audit.RouteStaff, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]string{}
		for _, e := range es {
			a, _ := e.Action()
			seen[a.Actor+" "+a.Name] = a.Outcome
		}
		for key, outcome := range map[string]string{
			"bootstrap-token POST /admin/v1/staff":                        audit.OutcomeOK,
			"root POST /admin/v1/tenants":                                 audit.OutcomeOK,
			"rita POST /admin/v1/tenants/{tenant}/users/{user}/sanctions": audit.OutcomeOK,
			"rita GET /admin/v1/staff":                                    audit.OutcomeDenied,
			"bootstrap-token GET /admin/v1/tenants":                       audit.OutcomeDenied,
		} {
			if seen[key] != outcome {
				t.Errorf("action %q recorded as %q, want %q (all: %v)", key, seen[key], outcome, seen)
			}
		}

		// Once disabled, the bootstrap token opens nothing.
		if st, _ := root.call("DELETE", "/admin/v1/bootstrap", ""); st != 204 {
			t.Fatalf("disable bootstrap: %d", st)
		}
		if st, _ := boot.call("POST", "/admin/v1/staff", `{"name":"late","role":"admin"}`); st != 401 {
			t.Fatalf("disabled bootstrap token: %d", st)
		}
	})
}

// TestFailedAuthenticationIsLoggedAndCounted: a call with a missing or
// wrong token leaves a log line (without the token) and counts.
func TestFailedAuthenticationIsLoggedAndCounted(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		var logs bytes.Buffer
		reg := prometheus.NewRegistry()
		c := newAPIWith(t, db, func(o *admin.Options) {
			o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			o.Registerer = reg
		})
		for _, token := range []string{"", "fbs_wrong-token-value", "not-even-a-token"} {
			if st, _ := c.as(token).raw("GET", "/admin/v1/tenants", ""); st != 401 {
				t.Fatalf("token %q: status %d", token, st)
			}
		}
		if n := strings.Count(logs.String(), "admin authentication failed"); n != 3 || strings.Contains(logs.String(), "wrong-token-value") {
			t.Errorf("%d log lines:\n%s", n, logs.String())
		}
		for reason, want := range map[string]float64{"missing": 1, "invalid": 2} {
			if got := failures(t, reg, reason); got != want {
				t.Errorf("failures %s = %v, want %v", reason, got, want)
			}
		}
	})
}

func failures(t *testing.T, reg *prometheus.Registry, reason string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if mf.GetName() == "firebreak_admin_auth_failures_total" && m.GetLabel()[0].GetValue() == reason {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// TestPasswordResetCutsOffEveryCredential: after an admin resets a
// member's password (the usual answer to a stolen credential), none of
// the member's sessions or personal API tokens opens anything, on this
// replica or another; disabling a member and enabling it again brings no
// old token back.
func TestPasswordResetCutsOffEveryCredential(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		root := newAPI(t, db)
		if st, _ := root.call("POST", "/admin/v1/staff", `{"name":"mallory","role":"policy","password":"an old password 1"}`); st != 201 {
			t.Fatalf("create member: %d", st)
		}
		st, body := root.call("POST", "/admin/v1/staff/mallory/tokens", `{"name":"laptop"}`)
		if st != 201 || body["secret"] == nil {
			t.Fatalf("create token: %d %v", st, body)
		}
		issued := root.as(body["secret"].(string))
		st, body = issued.call("POST", "/admin/v1/me/tokens", `{"name":"stolen"}`)
		if st != 201 || body["secret"] == nil {
			t.Fatalf("member creates its own token: %d %v", st, body)
		}
		own := root.as(body["secret"].(string))
		ses, _, err := root.staff.Login(ctx, "mallory", "an old password 1", staff.Client{IP: "192.0.2.9"})
		if err != nil {
			t.Fatal(err)
		}
		replica, err := staff.New(staff.Options{DB: db, Secret: []byte("a secret of sufficient length"),
			Argon2: staff.Argon2{Memory: 64, Time: 1, Threads: 1}})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []client{issued, own} {
			if st, _ := c.call("GET", "/admin/v1/me", ""); st != 200 {
				t.Fatalf("token before the reset: %d", st)
			}
		}
		if st, _ := root.call("POST", "/admin/v1/staff/mallory/password", `{"password":"a new password 22"}`); st != 204 {
			t.Fatalf("reset password: %d", st)
		}
		for i, c := range []client{issued, own} {
			if st, _ := c.call("GET", "/admin/v1/me", ""); st != 401 {
				t.Errorf("token %d after the password reset: %d, want 401", i, st)
			}
			if _, err := replica.AuthenticateToken(ctx, c.token); !errors.Is(err, staff.ErrBadCredentials) {
				t.Errorf("token %d on another replica after the reset: %v", i, err)
			}
		}
		if _, err := replica.Authenticate(ctx, ses.Secret); !errors.Is(err, staff.ErrNoSession) {
			t.Errorf("session on another replica after the reset: %v", err)
		}
		_, tokens := root.call("GET", "/admin/v1/staff/mallory/tokens", "")
		for _, tk := range tokens["data"].([]any) {
			if tk.(map[string]any)["revoked"] != true {
				t.Errorf("token listed as live after the reset: %v", tk)
			}
		}

		// A token issued after the reset dies with a disabling and stays
		// dead when the member is enabled again.
		_, body = root.call("POST", "/admin/v1/staff/mallory/tokens", `{"name":"new"}`)
		fresh := root.as(body["secret"].(string))
		if st, _ := fresh.call("GET", "/admin/v1/me", ""); st != 200 {
			t.Fatalf("token issued after the reset: %d", st)
		}
		for _, state := range []string{"disabled", "active"} {
			if st, _ := root.call("PATCH", "/admin/v1/staff/mallory", `{"state":"`+state+`"}`); st != 200 {
				t.Fatalf("set state %s: %d", state, st)
			}
		}
		if st, _ := fresh.call("GET", "/admin/v1/me", ""); st != 401 {
			t.Errorf("token of a member disabled and enabled again: %d, want 401", st)
		}
	})
}
