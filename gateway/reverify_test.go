package gateway_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firebreak/firebreak/config"
	"github.com/firebreak/firebreak/internal/fakeupstream"
	"github.com/firebreak/firebreak/sanction"
)

// TestVerifiedNumberCannotBeSwapped tries to shed what a verified number
// brings by verifying another one for the same end user: a user whose
// phone number is blacklisted verifies a second phone, a user whose ID
// number is blacklisted verifies another ID number, and a minor verifies
// an adult's ID number. (Each new number replaced the old one: the
// blacklisted users were served again and the minor left minors' mode.)
// A refused user may not verify anything, and an end user's ID number,
// once verified, is not replaced by another.
func TestVerifiedNumberCannotBeSwapped(t *testing.T) {
	t.Parallel()
	box := &smsBox{}
	h := newHarness(t, harnessOptions{sms: box, identity: config.Identity{MinorQuietHours: "off"}})
	verifyPhone := func(user, phone string) int { return h.verifyPhone(box, user, phone) }
	verifyID, chatAs := h.verifyID, h.chatAs
	adult := chineseID(time.Date(1980, 5, 17, 0, 0, 0, 0, time.UTC))
	other := chineseID(time.Date(1985, 6, 1, 0, 0, 0, 0, time.UTC))
	child := chineseID(time.Now().AddDate(-12, 0, 0))

	if got := verifyPhone("phoebe", "13800138020"); got != 200 {
		t.Fatalf("phone: status %d", got)
	}
	if got := verifyID("ida", adult); got != 200 {
		t.Fatalf("ID number: status %d", got)
	}
	for _, e := range []sanction.Entry{{Kind: sanction.KindPhone, Value: "13800138020"}, {Kind: sanction.KindIDNumber, Value: adult}} {
		e.Reason, e.CreatedBy = "test", "admin"
		if _, err := h.sanction.AddEntry(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	if got := verifyPhone("phoebe", "13800138021"); got != 403 {
		t.Errorf("blacklisted phone, a second phone verified: status %d, want 403", got)
	}
	if got := verifyID("ida", other); got != 403 {
		t.Errorf("blacklisted ID number, another verified: status %d, want 403", got)
	}
	for _, u := range []string{"phoebe", "ida"} {
		if got := chatAs(u); got != 403 {
			t.Errorf("%s after trying another number: status %d, want 403", u, got)
		}
	}

	if got := verifyID("kim", child); got != 200 {
		t.Fatalf("a minor's ID number: status %d", got)
	}
	if got := verifyID("kim", child); got != 200 {
		t.Errorf("the same ID number again: status %d, want 200", got)
	}
	if got := verifyID("kim", other); got != 409 {
		t.Errorf("an adult's ID number for a minor: status %d, want 409", got)
	}
	resp := h.do("GET", "/v1/identity/users/kim", "", h.key)
	var st struct{ Minor bool }
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || !st.Minor {
		t.Errorf("kim after another ID number: minor %v (%v), want a minor still", st.Minor, err)
	}
}

// verifyPhone runs the phone flow for user and returns the status of the
// step that failed, or 200.
func (h *harness) verifyPhone(box *smsBox, user, phone string) int {
	h.t.Helper()
	if got := h.do("POST", "/v1/identity/phone/start", `{"user":"`+user+`","phone":"`+phone+`"}`, h.key).StatusCode; got != 200 {
		return got
	}
	return h.do("POST", "/v1/identity/phone/confirm", `{"user":"`+user+`","phone":"`+phone+`","code":"`+box.code(h.t, phone)+`"}`, h.key).StatusCode
}

// verifyID verifies an ID number for user and returns the status.
func (h *harness) verifyID(user, id string) int {
	h.t.Helper()
	return h.do("POST", "/v1/identity/id_document", `{"user":"`+user+`","name":"N","id_number":"`+id+`"}`, h.key).StatusCode
}

// chatAs sends a chat completion for user and returns the status.
func (h *harness) chatAs(user string) int {
	h.t.Helper()
	return h.post(chat("general", "hi", false, `"user":"`+user+`"`)).StatusCode
}

// TestMinorsDailyCapAcrossReplicas sends a minor's requests all at once,
// half to each of two replicas: exactly the daily cap is served.
func TestMinorsDailyCapAcrossReplicas(t *testing.T) {
	t.Parallel()
	const daily, tries = 5, 20
	a := newHarness(t, harnessOptions{postgres: true, identity: config.Identity{MinorQuietHours: "off", MinorDailyRequests: daily}})
	b := a.second()
	if got := a.verifyID("kid", chineseID(time.Now().AddDate(-12, 0, 0))); got != 200 {
		t.Fatalf("a minor's ID number: status %d", got)
	}
	codes := make(chan int, tries)
	var wg sync.WaitGroup
	for i := range tries {
		h := []*harness{a, b}[i%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			stream := i%4 < 2
			req, _ := http.NewRequest("POST", h.srv.URL+"/v1/chat/completions", strings.NewReader(chat("general", "hi", stream, `"user":"kid"`)))
			req.Header.Set("Authorization", "Bearer "+h.key)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				codes <- 0
				return
			}
			_ = resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	wg.Wait()
	close(codes)
	n := map[int]int{}
	for c := range codes {
		n[c]++
	}
	if n[200] != daily || n[429] != tries-daily {
		t.Errorf("statuses %v, want %d × 200 and %d × 429", n, daily, tries-daily)
	}
}

// TestMinorsOverlayOnEveryPath sends a term only the bundle's minors
// overlay refuses, as a minor and as an adult, in a prompt and in the
// model's answer, streamed and not: the minor's requests and answers are
// held to the overlay on every path, the adult's are not.
func TestMinorsOverlayOnEveryPath(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{identity: config.Identity{MinorQuietHours: "off"},
		policy: "overlays:\n  minors:\n    lexicons: [{file: minors.txt, code: A1h, action: refuse}]\n",
		files:  map[string]string{"minors.txt": "all night raid\n"}})
	if got := h.verifyID("kid", chineseID(time.Now().AddDate(-12, 0, 0))); got != 200 {
		t.Fatalf("a minor's ID number: status %d", got)
	}
	for _, stream := range []bool{false, true} {
		for user, want := range map[string]string{"kid": "refused", "grown": "forwarded"} {
			if got := outcome(t, h, chat("general", "join the all night raid", stream, `"user":"`+user+`"`)); got != want {
				t.Errorf("%s's prompt, stream %v: %s, want %s", user, stream, got, want)
			}
			h.ups[0].Push(fakeupstream.Reply{Text: "tonight we start the all night raid"})
			resp := h.post(chat("general", "what tonight?", stream, `"user":"`+user+`"`))
			b, _ := io.ReadAll(resp.Body)
			if leaked := strings.Contains(string(b), "all night") || strings.Contains(string(b), "raid"); leaked != (user == "grown") {
				t.Errorf("%s's answer, stream %v: the overlay's term delivered %v: %s", user, stream, leaked, b)
			}
		}
	}
}

// TestQuietHoursOnEveryRoute sets quiet hours around the present moment
// in the service's time zone: a minor is refused on chat, streamed or
// not, and embeddings; an adult is served.
func TestQuietHoursOnEveryRoute(t *testing.T) {
	t.Parallel()
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Skip(err)
	}
	now := time.Now().In(shanghai)
	quiet := now.Add(-time.Hour).Format("15:04") + "-" + now.Add(time.Hour).Format("15:04")
	h := newHarness(t, harnessOptions{identity: config.Identity{MinorQuietHours: quiet}})
	if got := h.verifyID("kid", chineseID(time.Now().AddDate(-12, 0, 0))); got != 200 {
		t.Fatalf("a minor's ID number: status %d", got)
	}
	for user, want := range map[string]int{"kid": 403, "grown": 200} {
		for _, body := range []struct{ path, body string }{
			{"/v1/chat/completions", chat("general", "hi", false, `"user":"`+user+`"`)},
			{"/v1/chat/completions", chat("general", "hi", true, `"user":"`+user+`"`)},
			{"/v1/embeddings", `{"model":"general","input":"hi","user":"` + user + `"}`},
		} {
			if got := h.do("POST", body.path, body.body, h.key).StatusCode; got != want {
				t.Errorf("%s, %s in quiet hours %s: status %d, want %d", user, body.body, quiet, got, want)
			}
		}
	}
}
