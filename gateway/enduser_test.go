package gateway_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/firebreak/firebreak/config"
	"github.com/firebreak/firebreak/sanction"
)

// TestOneEndUserPerRequest names a blacklisted end user and a device in
// one place of a request (the user header, which an operator's proxy may
// set, an identity token, a device header) and another user or device in
// another place, or in a second line of the same header, as a client
// adding to what a proxy sets would. Every such request is refused (one
// of them was served as the other user, or from the other device); names
// that agree, however spaced, are served.
func TestOneEndUserPerRequest(t *testing.T) {
	t.Parallel()
	secret, keyFile := hs256Key(t)
	h := newHarness(t, harnessOptions{identity: config.Identity{TokenKeys: []string{keyFile}, MinorQuietHours: "off"}})
	for _, e := range []sanction.Entry{
		{Kind: sanction.KindUser, Value: "alice", TenantID: h.tenant.ID},
		{Kind: sanction.KindDevice, Value: "dev-9"},
	} {
		e.Reason, e.CreatedBy = "test", "admin"
		if _, err := h.sanction.AddEntry(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	token := func(sub string) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": sub, "exp": time.Now().Add(time.Hour).Unix()}).SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	send := func(path, body string, headers [][2]string) int {
		t.Helper()
		req, err := http.NewRequest("POST", h.srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+h.key)
		for _, kv := range headers {
			req.Header.Add(kv[0], kv[1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	const userH, tokenH, deviceH = "X-Firebreak-User", "X-Firebreak-User-Token", "X-Firebreak-Device"
	chatAs := func(user string) string {
		if user == "" {
			return chat("general", "hi", false, "")
		}
		return chat("general", "hi", false, `"user":"`+user+`"`)
	}
	for _, c := range []struct {
		name    string
		user    string // the body's "user"
		headers [][2]string
		want    int
	}{
		{"header alone", "", [][2]string{{userH, "alice"}}, 403},
		{"header and body agree", " alice ", [][2]string{{userH, "alice"}}, 403},
		{"header, another user in the body", "mallory", [][2]string{{userH, "alice"}}, 400},
		{"two header lines", "", [][2]string{{userH, "mallory"}, {userH, "alice"}}, 400},
		{"token, another user in the header", "", [][2]string{{tokenH, token("mallory")}, {userH, "alice"}}, 400},
		{"token and header agree", "", [][2]string{{tokenH, token("alice")}, {userH, "alice"}}, 403},
		{"two tokens", "", [][2]string{{tokenH, token("mallory")}, {tokenH, token("alice")}}, 400},
		{"two device lines", "", [][2]string{{deviceH, "dev-1"}, {deviceH, "dev-9"}}, 400},
		{"another user", "mallory", [][2]string{{userH, "mallory"}, {deviceH, "dev-1"}}, 200},
	} {
		if got := send("/v1/chat/completions", chatAs(c.user), c.headers); got != c.want {
			t.Errorf("%s: status %d, want %d", c.name, got, c.want)
		}
	}
	// The verification routes resolve the end user the same way.
	if got := send("/v1/identity/phone/start", `{"user":"mallory","phone":"13800138000"}`, [][2]string{{userH, "alice"}}); got != 400 {
		t.Errorf("phone verification, another user in the body than in the header: status %d, want 400", got)
	}
}

// hs256Key writes an HS256 secret to a key file for identity.token_keys.
func hs256Key(t *testing.T) (secret []byte, keyFile string) {
	t.Helper()
	secret = []byte("an HS256 secret that is at least 32 bytes long")
	keyFile = filepath.Join(t.TempDir(), "hs256.key")
	if err := os.WriteFile(keyFile, secret, 0o600); err != nil {
		t.Fatal(err)
	}
	return secret, keyFile
}

// TestNumericTokenSubjects signs identity tokens whose subject is a
// 64-bit number written as a JSON number, as identity systems with
// snowflake ids write it: two users whose ids differ in the last digits
// stay two users (read as a float they were one, so one user's
// blacklisting, sanctions and verification were the other's).
func TestNumericTokenSubjects(t *testing.T) {
	t.Parallel()
	secret, keyFile := hs256Key(t)
	h := newHarness(t, harnessOptions{identity: config.Identity{TokenKeys: []string{keyFile}, MinorQuietHours: "off"}})
	if _, err := h.sanction.AddEntry(t.Context(), sanction.Entry{Kind: sanction.KindUser, Value: "1234567890123456789",
		TenantID: h.tenant.ID, Reason: "test", CreatedBy: "admin"}); err != nil {
		t.Fatal(err)
	}
	status := func(sub json.Number) int {
		t.Helper()
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": sub, "exp": time.Now().Add(time.Hour).Unix()}).SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		return h.doWith("POST", "/v1/chat/completions", chat("general", "hi", false, ""), map[string]string{"X-Firebreak-User-Token": s}).StatusCode
	}
	if got := status("1234567890123456789"); got != 403 {
		t.Errorf("the blacklisted user's token: status %d, want 403", got)
	}
	if got := status("1234567890123456788"); got != 200 {
		t.Errorf("the next user's token: status %d, want 200", got)
	}
	if got := status("1.5"); got != 401 {
		t.Errorf("a subject that is not a whole number: status %d, want 401", got)
	}
}
