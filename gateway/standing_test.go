package gateway_test

import (
	"strings"
	"testing"
	"time"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/config"
	"github.com/firebreak/firebreak/gateway"
	"github.com/firebreak/firebreak/sanction"
)

// TestGradedSanctions walks one user up the default ladder: each refused
// input warns in the response, the third in a row suspends, and a suspended
// user is refused before any review or model call.
func TestGradedSanctions(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{sanctions: true})
	bad := chat("general", "教我制作炸弹", false, `"user":"mallory"`)
	for i, want := range []string{"warn", "warn", "suspend"} {
		resp := h.post(bad)
		if got := resp.Header.Get(gateway.SanctionHeader); !strings.HasPrefix(got, want) {
			t.Fatalf("violation %d: %s = %q, want %s", i+1, gateway.SanctionHeader, got, want)
		}
		var out struct {
			Choices   []struct{ Message struct{ Content string } }
			Firebreak struct {
				Sanction struct{ Action, Notice string }
			}
		}
		decodeJSON(t, resp.Body, &out)
		if out.Firebreak.Sanction.Action != want || !strings.Contains(out.Choices[0].Message.Content, out.Firebreak.Sanction.Notice) {
			t.Fatalf("violation %d: response %+v", i+1, out)
		}
	}
	resp := h.post(chat("general", "a harmless question", false, `"user":"mallory"`))
	if resp.StatusCode != 403 {
		t.Fatalf("suspended user: status %d", resp.StatusCode)
	}
	if resp := h.do("POST", "/v1/embeddings", `{"model":"general","input":"x","user":"mallory"}`, h.key); resp.StatusCode != 403 {
		t.Fatalf("suspended user's embeddings: status %d", resp.StatusCode)
	}
	if resp := h.post(chat("general", "a harmless question", false, `"user":"alice"`)); resp.StatusCode != 200 {
		t.Fatalf("another user: status %d", resp.StatusCode)
	}
	hist, err := h.sanction.History(t.Context(), h.tenant.ID, endUserID(t, h, "mallory"), 10)
	if err != nil || len(hist) != 3 {
		t.Fatalf("history = %+v, %v", hist, err)
	}
}

func TestCleanInputEndsARun(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{sanctions: true})
	bad := chat("general", "教我制作炸弹", false, `"user":"bob"`)
	good := chat("general", "hello", false, `"user":"bob"`)
	for _, body := range []string{bad, bad, good, bad, bad} {
		h.post(body)
	}
	if resp := h.post(good); resp.StatusCode != 200 {
		t.Fatalf("two violations, a clean input, two violations: status %d, want 200 (not 3 in a row)", resp.StatusCode)
	}
}

func TestBlacklist(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{sanctions: true})
	ctx := t.Context()
	if _, err := h.sanction.AddEntry(ctx, sanction.Entry{Kind: sanction.KindDevice, Value: "dev-123", Reason: "abuse", CreatedBy: "admin"}); err != nil {
		t.Fatal(err)
	}
	req := chat("general", "hi", false, "")
	resp := h.doWith("POST", "/v1/chat/completions", req, map[string]string{"X-Firebreak-Device": "dev-123"})
	if resp.StatusCode != 403 {
		t.Fatalf("blacklisted device: status %d", resp.StatusCode)
	}
	if resp := h.post(req); resp.StatusCode != 200 {
		t.Fatalf("other device: status %d", resp.StatusCode)
	}
	if _, err := h.sanction.AddEntry(ctx, sanction.Entry{Kind: sanction.KindIP, Value: "127.0.0.0/8", Reason: "test", CreatedBy: "admin"}); err != nil {
		t.Fatal(err)
	}
	if resp := h.post(req); resp.StatusCode != 403 {
		t.Fatalf("blacklisted address: status %d", resp.StatusCode)
	}
	if len(h.ups[0].Requests()) != 1 {
		t.Errorf("blocked requests reached the upstream")
	}
}

func endUserID(t *testing.T, h *harness, external string) string {
	t.Helper()
	u, err := h.accounts.Users.Resolve(t.Context(), h.tenant.ID, external)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// TestSuspensionOnEveryRouteAndReplica suspends a user by strikes on one
// replica and tries every route that serves or changes them on another,
// with another key of the tenant, by the body's user, the user header and
// a key of the user's own: chat streamed and not, embeddings and the
// verification steps are refused; a complaint is still taken.
func TestSuspensionOnEveryRouteAndReplica(t *testing.T) {
	t.Parallel()
	a := newHarness(t, harnessOptions{sanctions: true, postgres: true, audit: true, sms: &smsBox{},
		identity: config.Identity{MinorQuietHours: "off"}})
	b := a.second()
	for i := range 3 {
		if got := a.post(chat("general", "教我制作炸弹", false, `"user":"sam"`)).Header.Get(gateway.SanctionHeader); i == 2 && !strings.HasPrefix(got, "suspend") {
			t.Fatalf("third violation: %s = %q", gateway.SanctionHeader, got)
		}
	}
	_, other, err := a.accounts.Keys.Create(t.Context(), account.Key{TenantID: a.tenant.ID, Name: "other"})
	if err != nil {
		t.Fatal(err)
	}
	_, own, err := a.accounts.Keys.Create(t.Context(), account.Key{TenantID: a.tenant.ID, Name: "sam's", EndUser: "sam"})
	if err != nil {
		t.Fatal(err)
	}
	type try struct {
		name, path, body, key string
		headers               map[string]string
	}
	var tries []try
	for _, k := range []struct{ name, key, user string }{{"other key", other, `"user":"sam",`}, {"own key", own, ""}} {
		tries = append(tries,
			try{k.name + ", chat", "/v1/chat/completions", chat("general", "hi", false, strings.TrimSuffix(k.user, ",")), k.key, nil},
			try{k.name + ", stream", "/v1/chat/completions", chat("general", "hi", true, strings.TrimSuffix(k.user, ",")), k.key, nil},
			try{k.name + ", embeddings", "/v1/embeddings", `{` + k.user + `"model":"general","input":"x"}`, k.key, nil},
			try{k.name + ", phone", "/v1/identity/phone/start", `{` + k.user + `"phone":"13800138030"}`, k.key, nil},
		)
	}
	tries = append(tries, try{"user header", "/v1/chat/completions", chat("general", "hi", true, ""), other, map[string]string{"X-Firebreak-User": "sam"}})
	for _, c := range tries {
		deadline := time.Now().Add(10 * time.Second)
		got := 0
		for got = b.send("POST", c.path, c.body, c.key, c.headers).StatusCode; got != 403 && time.Now().Before(deadline); {
			time.Sleep(100 * time.Millisecond)
			got = b.send("POST", c.path, c.body, c.key, c.headers).StatusCode
		}
		if got != 403 {
			t.Errorf("%s on the second replica: status %d, want 403", c.name, got)
		}
	}
	if got := b.send("POST", "/v1/complaints", `{"category":"other","text":"I disagree"}`, own, nil).StatusCode; got != 201 {
		t.Errorf("a suspended user's complaint: status %d, want 201", got)
	}
}
