package gateway_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/firebreak/firebreak/config"
	"github.com/firebreak/firebreak/identity"
)

// smsBox is a phone-code Sender that keeps the last message per number,
// standing in for the operator's SMS service.
type smsBox struct {
	mu   sync.Mutex
	last map[string]string
}

func (b *smsBox) Send(_ context.Context, phone, message string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.last == nil {
		b.last = map[string]string{}
	}
	b.last[phone] = message
	return nil
}

func (b *smsBox) code(t testing.TB, phone string) string {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for p, msg := range b.last {
		if strings.HasSuffix(p, phone[len(phone)-8:]) {
			return regexp.MustCompile(`\d{6}`).FindString(msg)
		}
	}
	t.Fatalf("no code sent to %s", phone)
	return ""
}

// chineseID returns a valid resident ID number for a birth date.
func chineseID(birth time.Time) string {
	body := "110101" + birth.Format("20060102") + "123"
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(body[i]-'0') * w
	}
	return body + string("10X98765432"[sum%11])
}

func TestRealNameRequirement(t *testing.T) {
	t.Parallel()
	box := &smsBox{}
	h := newHarness(t, harnessOptions{sms: box, identity: config.Identity{
		Require: map[string]string{"*": "phone"}, VerifyURL: "https://example.com/verify",
		MinorQuietHours: "off", MinorDailyRequests: 2}})

	if resp := h.post(chat("general", "hi", false, "")); resp.StatusCode != 403 {
		t.Fatalf("anonymous request: status %d, want 403", resp.StatusCode)
	}
	resp := h.post(chat("general", "hi", false, `"user":"carol"`))
	var e struct{ Error struct{ Message string } }
	decodeJSON(t, resp.Body, &e)
	if resp.StatusCode != 403 || !strings.Contains(e.Error.Message, "https://example.com/verify") {
		t.Fatalf("unverified user: %d %q", resp.StatusCode, e.Error.Message)
	}

	if resp := h.do("POST", "/v1/identity/phone/start", `{"user":"carol","phone":"13812345678"}`, h.key); resp.StatusCode != 200 {
		t.Fatalf("start: %d", resp.StatusCode)
	}
	if resp := h.do("POST", "/v1/identity/phone/confirm", `{"user":"carol","phone":"13812345678","code":"000000"}`, h.key); resp.StatusCode != 400 {
		t.Fatalf("wrong code: %d", resp.StatusCode)
	}
	resp = h.do("POST", "/v1/identity/phone/confirm", fmt.Sprintf(`{"user":"carol","phone":"13812345678","code":"%s"}`, box.code(t, "13812345678")), h.key)
	var st struct {
		Level, Phone string
		Minor        bool
	}
	decodeJSON(t, resp.Body, &st)
	if resp.StatusCode != 200 || st.Level != "phone" || st.Phone != "138****5678" {
		t.Fatalf("confirm: %d %+v", resp.StatusCode, st)
	}
	if resp := h.post(chat("general", "hi", false, `"user":"carol"`)); resp.StatusCode != 200 {
		t.Fatalf("verified user: status %d", resp.StatusCode)
	}

	// A number whose format alone was checked is no real name: an ID
	// number anyone can make up with a valid check character, a credit
	// code, do not meet the phone requirement (they ranked above it).
	for user, path := range map[string]string{
		"erin": `/v1/identity/id_document","{"user":"erin","name":"张三","id_number":"` + chineseID(time.Date(1980, 1, 2, 0, 0, 0, 0, time.UTC)) + `"}`,
		"fay":  `/v1/identity/organisation","{"user":"fay","name":"某公司","uscc":"91350100M000100Y43"}`,
	} {
		p, body, _ := strings.Cut(path, `","`)
		if resp := h.do("POST", p, body, h.key); resp.StatusCode != 200 {
			t.Fatalf("%s: status %d", p, resp.StatusCode)
		}
		if resp := h.post(chat("general", "hi", false, `"user":"`+user+`"`)); resp.StatusCode != 403 {
			t.Errorf("%s, verified by format alone: status %d, want 403", user, resp.StatusCode)
		}
	}

	// A minor, from the birth date of a verified ID number: a daily cap.
	minorID := chineseID(time.Now().AddDate(-12, 0, 0))
	resp = h.do("POST", "/v1/identity/id_document", `{"user":"dan","name":"张三","id_number":"`+minorID+`"}`, h.key)
	decodeJSON(t, resp.Body, &st)
	if resp.StatusCode != 200 || st.Level != "id_document" || !st.Minor {
		t.Fatalf("id document: %d %+v", resp.StatusCode, st)
	}
	if resp := h.post(chat("general", "hi", false, `"user":"dan"`)); resp.StatusCode != 403 {
		t.Fatalf("minor with an ID number checked by format alone: status %d, want 403", resp.StatusCode)
	}
	if got := h.verifyPhone(box, "dan", "13812345679"); got != 200 {
		t.Fatalf("minor's phone: status %d", got)
	}
	for i, want := range []int{200, 200, 429} {
		if resp := h.post(chat("general", "hi", false, `"user":"dan"`)); resp.StatusCode != want {
			t.Fatalf("minor's request %d: status %d, want %d", i+1, resp.StatusCode, want)
		}
	}
}

func TestIdentityToken(t *testing.T) {
	t.Parallel()
	secret, keyFile := hs256Key(t)
	h := newHarness(t, harnessOptions{identity: config.Identity{TokenKeys: []string{keyFile},
		Require: map[string]string{"*": "attested"}, MinorQuietHours: "off"}})
	sign := func(claims jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good := sign(jwt.MapClaims{"sub": "erin", "exp": time.Now().Add(time.Hour).Unix()})
	resp := h.doWith("POST", "/v1/chat/completions", chat("general", "hi", false, ""), map[string]string{"X-Firebreak-User-Token": good})
	if resp.StatusCode != 200 {
		t.Fatalf("valid token: status %d", resp.StatusCode)
	}
	if st, err := h.identity.State(t.Context(), endUserID(t, h, "erin")); err != nil || st.Level != identity.LevelAttested {
		t.Fatalf("state after token: %+v %v", st, err)
	}
	for name, token := range map[string]string{
		"expired":   sign(jwt.MapClaims{"sub": "erin", "exp": time.Now().Add(-time.Hour).Unix()}),
		"forged":    good[:len(good)-4] + "AAAA",
		"alg none":  "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJlcmluIn0.",
		"not a jwt": "hello",
	} {
		resp := h.doWith("POST", "/v1/chat/completions", chat("general", "hi", false, ""), map[string]string{"X-Firebreak-User-Token": token})
		if resp.StatusCode != 401 {
			t.Errorf("%s token: status %d, want 401", name, resp.StatusCode)
		}
	}
	resp = h.doWith("POST", "/v1/chat/completions", chat("general", "hi", false, `"user":"mallory"`), map[string]string{"X-Firebreak-User-Token": good})
	if resp.StatusCode != 400 {
		t.Errorf("token for another user than 'user': status %d", resp.StatusCode)
	}
}
