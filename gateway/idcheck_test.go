package gateway_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/firebreak/firebreak/config"
	"github.com/firebreak/firebreak/identity"
)

// TestIDCheckWebhook configures identity.id_check_webhook: an ID number
// is matched to the name given with it by the operator's verification
// service, signed requests only. A name that does not match is refused
// and the user stays unverified; a match verifies the user, who then
// meets an id_document requirement without accepting format checks.
func TestIDCheckWebhook(t *testing.T) {
	secret := "an id check webhook secret"
	t.Setenv("FIREBREAK_TEST_ID_CHECK_SECRET", secret)
	id := chineseID(time.Date(1980, 5, 17, 0, 0, 0, 0, time.UTC))
	var checks atomic.Int32
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var in struct {
			Name     string `json:"name"`
			IDNumber string `json:"id_number"`
			SentAt   int64  `json:"sent_at"`
		}
		if json.Unmarshal(body, &in) != nil || r.Header.Get(identity.SignatureHeader) != identity.Sign([]byte(secret), in.SentAt, body) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		checks.Add(1)
		_, _ = w.Write([]byte(`{"match":` + strconv.FormatBool(in.Name == "李四" && in.IDNumber == id) + `}`))
	}))
	t.Cleanup(svc.Close)
	h := newHarness(t, harnessOptions{identity: config.Identity{Require: map[string]string{"*": "id_document"},
		IDCheckWebhook: svc.URL, IDCheckWebhookSecretEnv: "FIREBREAK_TEST_ID_CHECK_SECRET", MinorQuietHours: "off"}})

	verify := func(name string) (int, string) {
		resp := h.do("POST", "/v1/identity/id_document", `{"user":"li","name":"`+name+`","id_number":"`+id+`"}`, h.key)
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if got, _ := verify("王五"); got != 403 {
		t.Errorf("a name that does not match: status %d, want 403", got)
	}
	if got := h.chatAs("li"); got != 403 {
		t.Errorf("after a refused check: status %d, want 403", got)
	}
	got, body := verify("李四")
	if got != 200 || !strings.Contains(body, `"id_checked"`) {
		t.Fatalf("a match: %d %s", got, body)
	}
	if got := h.chatAs("li"); got != 200 {
		t.Errorf("checked ID number on an id_document requirement: status %d, want 200", got)
	}
	if n := checks.Load(); n != 2 {
		t.Errorf("%d signed checks reached the service, want 2", n)
	}
}
