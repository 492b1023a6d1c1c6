package gateway_test

import (
	"encoding/json"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/config"
	"github.com/firebreak/firebreak/store"
)

// TestKeyOfOneEndUserOnEveryRoute: a key issued to one end user (alice)
// tries every /v1 route for another (bob), every way a request can name
// a user. Each is refused, no read creates a user, and alice's own
// requests pass.
func TestKeyOfOneEndUserOnEveryRoute(t *testing.T) {
	t.Parallel()
	secret, keyFile := hs256Key(t)
	h := newHarness(t, harnessOptions{audit: true, sms: &smsBox{},
		identity: config.Identity{TokenKeys: []string{keyFile}, MinorQuietHours: "off"}})
	ctx := t.Context()
	_, alice, err := h.accounts.Keys.Create(ctx, account.Key{TenantID: h.tenant.ID, Name: "alice's app", EndUser: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	_, bob, err := h.accounts.Keys.Create(ctx, account.Key{TenantID: h.tenant.ID, Name: "bob's app", EndUser: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "bob", "exp": time.Now().Add(time.Hour).Unix()}).SignedString(secret)
	if err != nil {
		t.Fatal(err)
	}
	var filed struct{ ID string }
	decodeJSON(t, h.do("POST", "/v1/complaints", `{"category":"other","text":"bob's complaint"}`, bob).Body, &filed)
	if _, err := h.accounts.Users.Find(ctx, h.tenant.ID, "bob"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("bob exists before any request names him: %v", err)
	}

	for _, tt := range []struct {
		name, method, path, body string
		headers                  map[string]string
		want                     int
	}{
		{"chat, body user", "POST", "/v1/chat/completions", chat("general", "hi", false, `"user":"bob"`), nil, 403},
		{"chat, user header", "POST", "/v1/chat/completions", chat("general", "hi", false, ""), map[string]string{"X-Firebreak-User": "bob"}, 403},
		{"chat, identity token", "POST", "/v1/chat/completions", chat("general", "hi", false, ""), map[string]string{"X-Firebreak-User-Token": token}, 403},
		{"embeddings", "POST", "/v1/embeddings", `{"model":"general","input":"x","user":"bob"}`, nil, 403},
		{"embeddings, user header", "POST", "/v1/embeddings", `{"model":"general","input":"x"}`, map[string]string{"X-Firebreak-User": "bob"}, 403},
		{"phone start", "POST", "/v1/identity/phone/start", `{"user":"bob","phone":"13800138000"}`, nil, 403},
		{"phone confirm", "POST", "/v1/identity/phone/confirm", `{"user":"bob","phone":"13800138000","code":"123456"}`, nil, 403},
		{"id document", "POST", "/v1/identity/id_document", `{"user":"bob","name":"Bob","id_number":"11010519491231002X"}`, nil, 403},
		{"organisation", "POST", "/v1/identity/organisation", `{"user":"bob","uscc":"91350100M000100Y43","name":"Bob Ltd"}`, nil, 403},
		{"identity, user header", "POST", "/v1/identity/id_document", `{"name":"Bob","id_number":"11010519491231002X"}`, map[string]string{"X-Firebreak-User": "bob"}, 403},
		{"identity state", "GET", "/v1/identity/users/bob", "", nil, 403},
		{"bob's complaint", "GET", "/v1/complaints/" + filed.ID, "", nil, 404},
		{"models", "GET", "/v1/models", "", nil, 200},
		{"one model", "GET", "/v1/models/general", "", nil, 200},
		{"unknown route", "GET", "/v1/users/bob", "", nil, 404},
	} {
		resp := h.send(tt.method, tt.path, tt.body, alice, tt.headers)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != tt.want {
			t.Errorf("%s: status %d, want %d: %s", tt.name, resp.StatusCode, tt.want, body)
		}
		if tt.want >= 400 {
			var e struct {
				Error struct{ Message, Code string }
			}
			if json.Unmarshal(body, &e) != nil || e.Error.Code == "" {
				t.Errorf("%s: not an OpenAI error: %s", tt.name, body)
			}
		}
	}
	if _, err := h.accounts.Users.Find(ctx, h.tenant.ID, "bob"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused request created bob: %v", err)
	}
	// A service key reads the state of a user never seen: unverified, and
	// still never seen.
	var st struct{ Level string }
	decodeJSON(t, h.do("GET", "/v1/identity/users/nobody", "", h.key).Body, &st)
	if _, err := h.accounts.Users.Find(ctx, h.tenant.ID, "nobody"); st.Level != "unverified" || !errors.Is(err, store.ErrNotFound) {
		t.Errorf("reading an unknown user: level %q, find %v", st.Level, err)
	}
	// Alice's own requests pass.
	for _, tt := range []struct{ method, path, body string }{
		{"POST", "/v1/chat/completions", chat("general", "hi", false, `"user":"alice"`)},
		{"GET", "/v1/identity/users/alice", ""},
		{"POST", "/v1/identity/id_document", `{"user":"alice","name":"Alice","id_number":"11010519491231002X"}`},
	} {
		if resp := h.do(tt.method, tt.path, tt.body, alice); resp.StatusCode != 200 {
			t.Errorf("alice's own %s %s: status %d", tt.method, tt.path, resp.StatusCode)
		}
	}
	var mine struct{ ID string }
	decodeJSON(t, h.do("POST", "/v1/complaints", `{"category":"other","text":"alice's complaint"}`, alice).Body, &mine)
	if resp := h.do("GET", "/v1/complaints/"+mine.ID, "", alice); resp.StatusCode != 200 {
		t.Errorf("alice's own complaint: status %d", resp.StatusCode)
	}
	if resp := h.do("GET", "/v1/complaints/"+mine.ID, "", h.key); resp.StatusCode != 200 {
		t.Errorf("the tenant's service key reads any of its complaints: status %d", resp.StatusCode)
	}
}
