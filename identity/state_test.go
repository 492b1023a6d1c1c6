package identity_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/identity"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

func TestParseLevel(t *testing.T) {
	for _, l := range []identity.Level{identity.LevelUnverified, identity.LevelPhone,
		identity.LevelIDDocument, identity.LevelOrganisation, identity.LevelAttested} {
		t.Run(l.String(), func(t *testing.T) {
			got, err := identity.ParseLevel(l.String())
			if err != nil || got != l {
				t.Fatalf("ParseLevel(%q) = %v, %v", l.String(), got, err)
			}
		})
	}
	t.Run("json", func(t *testing.T) {
		var r identity.Requirements
		if err := json.Unmarshal([]byte(`{"min_level":{"*":"phone","law":"id_document"}}`), &r); err != nil {
			t.Fatal(err)
		}
		if r.MinLevel["*"] != identity.LevelPhone || r.MinLevel["law"] != identity.LevelIDDocument {
			t.Fatalf("MinLevel = %v", r.MinLevel)
		}
		if err := json.Unmarshal([]byte(`{"min_level":{"*":"gold"}}`), &r); err == nil {
			t.Fatal("unknown level accepted")
		}
	})
}

func TestNewValidates(t *testing.T) {
	db := storetest.Open(t, store.Options{DataDir: t.TempDir()})
	e := newEnv(t, db, identity.Options{})
	base := identity.Options{DB: db, Users: e.accounts.Users, Secret: testSecret}
	tests := []struct {
		name string
		edit func(*identity.Options)
	}{
		{"no db", func(o *identity.Options) { o.DB = nil }},
		{"no users", func(o *identity.Options) { o.Users = nil }},
		{"short secret", func(o *identity.Options) { o.Secret = []byte("short") }},
		{"bad quiet hours", func(o *identity.Options) { o.Minors.QuietHours = "22-06" }},
		{"empty quiet hours", func(o *identity.Options) { o.Minors.QuietHours = "06:00-06:00" }},
		{"invalid level", func(o *identity.Options) {
			o.Requirements.MinLevel = map[string]identity.Level{"*": 9}
		}},
		{"message without code", func(o *identity.Options) { o.Phone.Message = "hello" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := base
			tc.edit(&o)
			if s, err := identity.New(o); err == nil {
				_ = s.Close()
				t.Fatal("New accepted bad options")
			}
		})
	}
}

func TestLevelTransitions(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, identity.Options{Bus: openBus(t, db)})
		u := e.user(t, "alice")
		step := func(name string, want identity.Level, method string) *identity.State {
			t.Helper()
			st := e.state(t, u)
			if st.Level != want || st.Method != method {
				t.Fatalf("after %s: level %s method %q, want %s %q", name, st.Level, st.Method, want, method)
			}
			return st
		}
		step("nothing", identity.LevelUnverified, "")

		e.verifyPhone(t, u, "+86 138-1234-5678")
		st := step("phone", identity.LevelPhone, "sms")
		if st.Phone != "138****5678" || !st.VerifiedAt.Equal(e.clock.Now().Truncate(time.Millisecond)) {
			t.Fatalf("phone state = %+v", st)
		}

		id := idFor("19900307")
		if err := e.svc.VerifyIDDocument(ctx, u, "张三", id); err != nil {
			t.Fatal(err)
		}
		st = step("id", identity.LevelIDDocument, "id_format")
		if st.IDNumber != "1101**********"+id[14:] || st.Phone != "138****5678" || st.Minor {
			t.Fatalf("id state = %+v", st)
		}

		// A lower verification keeps the level but records the new number.
		e.clock.Add(2 * time.Minute)
		e.verifyPhone(t, u, "13987654321")
		st = step("phone again", identity.LevelIDDocument, "id_format")
		if st.Phone != "139****4321" {
			t.Fatalf("phone not updated: %+v", st)
		}

		if err := e.svc.VerifyOrganisation(ctx, u, strings.ToLower(withUSCCCheck("91110000MA0000001")), "示例科技有限公司"); err != nil {
			t.Fatal(err)
		}
		st = step("organisation", identity.LevelOrganisation, "uscc_format")
		if st.OrgName != "示例科技有限公司" || st.IDNumber == "" || st.CreditCode == "" {
			t.Fatalf("organisation state = %+v", st)
		}

		// An operator's token is the authority: its level replaces ours.
		if err := e.svc.Attest(ctx, u, &identity.Claims{Subject: "alice", Level: identity.LevelPhone}); err != nil {
			t.Fatal(err)
		}
		step("token", identity.LevelPhone, "token")

		if err := e.svc.Forget(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		step("forget", identity.LevelUnverified, "")
		if changes := published(t, db, u.ID); len(changes) < 6 {
			t.Fatalf("published changes = %v, want one per step", changes)
		}
	})
}

func TestCacheAndInvalidate(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, identity.Options{CacheTTL: time.Minute})
		replica := newService(t, identity.Options{DB: db, Users: e.accounts.Users, Secret: testSecret, Now: e.clock.Now,
			CacheTTL: time.Minute})
		u := e.user(t, "bob")
		if st, _ := replica.State(ctx, u.ID); st.Level != identity.LevelUnverified {
			t.Fatalf("replica level = %s", st.Level)
		}
		e.verifyPhone(t, u, "13812345678")
		if st, _ := replica.State(ctx, u.ID); st.Level != identity.LevelUnverified {
			t.Fatalf("replica saw the change before its cache expired: %s", st.Level)
		}
		replica.Invalidate(u.ID)
		if st, _ := replica.State(ctx, u.ID); st.Level != identity.LevelPhone {
			t.Fatalf("replica level after Invalidate = %s", st.Level)
		}
		if err := e.svc.Forget(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		e.clock.Add(time.Minute)
		if st, _ := replica.State(ctx, u.ID); st.Level != identity.LevelUnverified {
			t.Fatalf("replica level after TTL = %s", st.Level)
		}
	})
}

func TestRequirements(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, identity.Options{Requirements: identity.Requirements{
			MinLevel: map[string]identity.Level{
				"*":    identity.LevelPhone,
				"demo": identity.LevelUnverified,
				"law":  identity.LevelIDDocument,
			},
			VerifyURL: "https://example.com/verify",
		}, IDChecker: checker{}})
		anon, phone, id := e.user(t, "anon"), e.user(t, "phone"), e.user(t, "id")
		e.verifyPhone(t, phone, "13812345678")
		if err := e.svc.VerifyIDDocument(ctx, id, "李四", idFor("19800101")); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name, user, model string
			wantMsg           string // "" = allowed
		}{
			{"unverified on open model", "anon", "demo", ""},
			{"unverified on default", "anon", "general", "this service requires phone verification; verify at https://example.com/verify"},
			{"unverified on law", "anon", "law", `model "law" requires ID document verification; verify at https://example.com/verify`},
			{"phone on default", "phone", "general", ""},
			{"phone on law", "phone", "law", `model "law" requires ID document verification; verify at https://example.com/verify`},
			{"id on law", "id", "law", ""},
			{"id on default", "id", "general", ""},
		}
		t.Run("no end user", func(t *testing.T) {
			refusal(t, e.svc.Check(ctx, nil, "general"), clienterr.Forbidden, identity.ErrVerificationRequired)
			if err := e.svc.Check(ctx, nil, "demo"); err != nil {
				t.Fatal(err)
			}
			if err := e.svc.MinorGate(ctx, nil, e.clock.Now()); err != nil {
				t.Fatal(err)
			}
		})
		users := map[string]string{"anon": anon.ID, "phone": phone.ID, "id": id.ID}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				u := *anon
				u.ID = users[tc.user]
				err := e.svc.Check(ctx, &u, tc.model)
				if tc.wantMsg == "" {
					if err != nil {
						t.Fatalf("Check = %v, want nil", err)
					}
					return
				}
				oe := refusal(t, err, clienterr.Forbidden, identity.ErrVerificationRequired)
				if oe.Message != tc.wantMsg || oe.Code != clienterr.Forbidden {
					t.Fatalf("message %q code %s, want %q forbidden", oe.Message, oe.Code, tc.wantMsg)
				}
				var le *identity.LevelError
				if !errors.As(err, &le) || le.Model != tc.model {
					t.Fatalf("cause = %v", err)
				}
			})
		}
	})
}

// TestFormatChecksMeetNoRequirement verifies ID numbers and a credit code
// whose format alone is checked: they meet no requirement above a phone
// the user confirmed, unless the operator accepts format checks.
func TestFormatChecksMeetNoRequirement(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, accept := range []bool{false, true} {
			e := newEnv(t, db, identity.Options{Requirements: identity.Requirements{
				MinLevel:           map[string]identity.Level{"*": identity.LevelPhone, "law": identity.LevelIDDocument},
				AcceptFormatChecks: accept,
			}})
			id, both, org := e.user(t, fmt.Sprint("id", accept)), e.user(t, fmt.Sprint("both", accept)), e.user(t, fmt.Sprint("org", accept))
			e.verifyPhone(t, both, map[bool]string{false: "13812345670", true: "13812345671"}[accept])
			for _, u := range []*account.EndUser{id, both} {
				if err := e.svc.VerifyIDDocument(ctx, u, "李四", idFor("19800101")); err != nil {
					t.Fatal(err)
				}
			}
			if err := e.svc.VerifyOrganisation(ctx, org, "91350100M000100Y43", "某公司"); err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				u          *account.EndUser
				model      string
				want, with bool // allowed without and with AcceptFormatChecks
			}{
				{id, "general", false, true},
				{id, "law", false, true},
				{org, "general", false, true},
				{both, "general", true, true},
				{both, "law", false, true},
			} {
				err := e.svc.Check(ctx, c.u, c.model)
				if want := map[bool]bool{false: c.want, true: c.with}[accept]; (err == nil) != want {
					t.Errorf("accept %v, %s on %s: %v, want allowed %v", accept, c.u.ExternalID, c.model, err, want)
				}
			}
		}
	})
}
