package gateway_test

import (
	"strings"
	"testing"
	"time"

	"github.com/firebreak/firebreak/config"
	"github.com/firebreak/firebreak/sanction"
)

// TestBlacklistEveryKindOnASecondReplica adds one entry of every kind on
// one replica and finds each enforced on another replica of the same
// database: a user by the end-user id and by the operator's own id, a
// verified phone number and ID number written otherwise than when they
// were verified, an address within a blacklisted prefix, and a device.
// The same requests from others pass.
func TestBlacklistEveryKindOnASecondReplica(t *testing.T) {
	t.Parallel()
	box := &smsBox{}
	a := newHarness(t, harnessOptions{postgres: true, ipHeader: "X-Real-IP", sms: box,
		identity: config.Identity{MinorQuietHours: "off"}})
	b := a.second()
	ctx := t.Context()

	// Verify two users on replica a: a phone number, an ID number.
	verify := func(path, body string) {
		t.Helper()
		if resp := a.do("POST", path, body, a.key); resp.StatusCode != 200 {
			t.Fatalf("%s: status %d", path, resp.StatusCode)
		}
	}
	verify("/v1/identity/phone/start", `{"user":"phoebe","phone":"13800138000"}`)
	verify("/v1/identity/phone/confirm", `{"user":"phoebe","phone":"13800138000","code":"`+box.code(t, "13800138000")+`"}`)
	id := chineseID(time.Date(1980, 5, 17, 0, 0, 0, 0, time.UTC))
	verify("/v1/identity/id_document", `{"user":"ida","name":"Ida","id_number":"`+id+`"}`)

	type probe struct {
		name, user string
		headers    map[string]string
	}
	blocked := []probe{
		{"user by end-user id", "ursula", nil},
		{"user by operator id", "oscar", nil},
		{"verified phone", "phoebe", nil},
		{"verified ID number", "ida", nil},
		{"address in the prefix", "ivan", map[string]string{"X-Real-IP": "10.9.200.7"}},
		{"device", "dora", map[string]string{"X-Firebreak-Device": "dev-9"}},
	}
	status := func(h *harness, p probe) int {
		t.Helper()
		resp := h.doWith("POST", "/v1/chat/completions", chat("general", "hi", false, `"user":"`+p.user+`"`), p.headers)
		return resp.StatusCode
	}
	for _, p := range blocked {
		if got := status(b, p); got != 200 {
			t.Fatalf("%s: status %d before any entry", p.name, got)
		}
	}
	internal := endUserID(t, a, "ursula")
	entries := []sanction.Entry{
		{Kind: sanction.KindUser, Value: internal},                                   // the end-user id
		{Kind: sanction.KindUser, Value: "oscar", TenantID: a.tenant.ID},             // the operator's own id
		{Kind: sanction.KindPhone, Value: "+86 138-0013-8000"},                       // as verified: 13800138000
		{Kind: sanction.KindIDNumber, Value: strings.ToLower(id[:6] + " " + id[6:])}, // as verified, in upper case
		{Kind: sanction.KindIP, Value: "10.9.0.0/16"},
		{Kind: sanction.KindDevice, Value: "dev-9"},
	}
	for _, e := range entries {
		e.Reason, e.CreatedBy = "test", "admin"
		if _, err := a.sanction.AddEntry(ctx, e); err != nil {
			t.Fatalf("add %s %s: %v", e.Kind, e.Value, err)
		}
	}
	for _, p := range blocked {
		deadline := time.Now().Add(15 * time.Second) // notices arrive within a second; the reload is the backstop
		for status(b, p) != 403 {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not blocked on the second replica", p.name)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if got := status(a, p); got != 403 {
			t.Errorf("%s: status %d on the first replica", p.name, got)
		}
	}
	for _, p := range []probe{
		{"another user", "olga", map[string]string{"X-Real-IP": "10.10.0.1", "X-Firebreak-Device": "dev-8"}},
	} {
		if got := status(b, p); got != 200 {
			t.Errorf("%s: status %d, want 200", p.name, got)
		}
	}
}

// TestBlacklistedNumbersInOtherForms blacklists a verified phone number
// and a verified ID number as they are also written: the phone with its
// country code in brackets or dots between the groups, the ID number in
// its first-generation 15-digit form (no century, no check character).
// Each entry blocks the user who verified the number.
func TestBlacklistedNumbersInOtherForms(t *testing.T) {
	t.Parallel()
	box := &smsBox{}
	h := newHarness(t, harnessOptions{sms: box, identity: config.Identity{MinorQuietHours: "off"}})
	phones := map[string]string{ // verified as the key, blacklisted as the value
		"13800138001": "(+86) 138 0013 8001",
		"13800138002": "+86.138.0013.8002",
		"13800138003": "(0086)138-0013-8003",
	}
	for phone := range phones {
		if got := h.verifyPhone(box, "p"+phone, phone); got != 200 {
			t.Fatalf("verify %s: status %d", phone, got)
		}
	}
	id := chineseID(time.Date(1962, 3, 4, 0, 0, 0, 0, time.UTC))
	if got := h.verifyID("ida", id); got != 200 {
		t.Fatalf("verify ID number: status %d", got)
	}
	id15 := id[:6] + id[8:17] // 110101 620304 123
	status := h.chatAs
	entries := []sanction.Entry{{Kind: sanction.KindIDNumber, Value: id15}}
	for _, v := range phones {
		entries = append(entries, sanction.Entry{Kind: sanction.KindPhone, Value: v})
	}
	for _, e := range entries {
		e.Reason, e.CreatedBy = "test", "admin"
		if _, err := h.sanction.AddEntry(t.Context(), e); err != nil {
			t.Fatalf("add %s %s: %v", e.Kind, e.Value, err)
		}
	}
	for phone, v := range phones {
		if got := status("p" + phone); got != 403 {
			t.Errorf("phone verified as %s, blacklisted as %q: status %d, want 403", phone, v, got)
		}
	}
	if got := status("ida"); got != 403 {
		t.Errorf("ID number blacklisted in its 15-digit form: status %d, want 403", got)
	}
	if got := status("olga"); got != 200 {
		t.Errorf("another user: status %d, want 200", got)
	}
}

// TestBlacklistedNamesWithSpaces blacklists a user and a device with the
// spaces a copied value brings: a request names them without, since the
// gateway trims the user and reads header values trimmed, and is blocked.
func TestBlacklistedNamesWithSpaces(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	for _, e := range []sanction.Entry{
		{Kind: sanction.KindUser, Value: " oscar\t", TenantID: h.tenant.ID},
		{Kind: sanction.KindDevice, Value: "dev-9 "},
	} {
		e.Reason, e.CreatedBy = "test", "admin"
		if _, err := h.sanction.AddEntry(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	if got := h.chatAs("oscar"); got != 403 {
		t.Errorf("user blacklisted as \" oscar\\t\": status %d, want 403", got)
	}
	if got := h.doWith("POST", "/v1/chat/completions", chat("general", "hi", false, ""), map[string]string{"X-Firebreak-Device": "dev-9"}).StatusCode; got != 403 {
		t.Errorf("device blacklisted as \"dev-9 \": status %d, want 403", got)
	}
	if _, err := h.sanction.AddEntry(t.Context(), sanction.Entry{Kind: sanction.KindDevice, Value: "  ", Reason: "test", CreatedBy: "admin"}); err == nil {
		t.Error("a device of spaces was accepted")
	}
}
