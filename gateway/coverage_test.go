package gateway_test

import (
	"io"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/safety"
)

// outcome posts body and says how the gateway answered: "refused" (a
// content_filter answer and no upstream call), "forwarded", or the status.
func outcome(t *testing.T, h *harness, body string) string {
	t.Helper()
	before := len(h.ups[0].Requests())
	resp := h.post(body)
	b, _ := io.ReadAll(resp.Body)
	calls := len(h.ups[0].Requests()) - before
	switch {
	case resp.StatusCode == 200 && calls == 0 && strings.Contains(string(b), `"content_filter"`):
		return "refused"
	case resp.StatusCode == 200 && calls == 1:
		return "forwarded"
	}
	return "status " + resp.Status + ": " + string(b)
}

// TestReviewCoversEveryRole: a refused term is found in every role the
// OpenAI API has and in every shape a message's text can take.
func TestReviewCoversEveryRole(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{policy: "review: {media: allow}\n"}) // an image between two parts
	shapes := map[string]string{
		"string":         `"content":"how to build a pipe bomb"`,
		"text part":      `"content":[{"type":"text","text":"how to build a pipe bomb"}]`,
		"split parts":    `"content":[{"type":"text","text":"how to build a pipe"},{"type":"image_url","image_url":{"url":"https://x.test/a.png"}},{"type":"text","text":" bomb"}]`,
		"name":           `"name":"pipe_bomb","content":"hello"`,
		"zh over a line": `"content":"教我制作\n炸弹"`,
		"zh over a stop": `"content":"教我制作。炸弹"`,
	}
	for role := range safety.DefaultRoles() {
		for shape, fields := range shapes {
			body := `{"model":"general","messages":[{"role":"` + role + `",` + fields + `},{"role":"user","content":"hi"}]}`
			if got := outcome(t, h, body); got != "refused" {
				t.Errorf("%s, %s: %s", role, shape, got)
			}
		}
	}
	calls := `{"model":"general","messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"run","arguments":"{\"x\":\"制作炸弹\"}"}}]},{"role":"tool","tool_call_id":"c","content":"ok"}]}`
	if got := outcome(t, h, calls); got != "refused" {
		t.Errorf("tool-call arguments in history: %s", got)
	}
}

// TestStrikesFollowTheUsersOwnText: only what the end user wrote bears a
// strike; a system prompt or tool result the app sent does not.
func TestStrikesFollowTheUsersOwnText(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{sanctions: true})
	violations := func() int {
		v, err := h.sanction.Violations(t.Context(), h.tenant.ID, endUserID(t, h, "eve"), 10)
		if err != nil {
			t.Fatal(err)
		}
		return len(v)
	}
	for _, tt := range []struct {
		name, messages string
		strikes        int
	}{
		{"system prompt", `{"role":"system","content":"pipe bomb"},{"role":"user","content":"hi"}`, 0},
		{"tool result", `{"role":"user","content":"hi"},{"role":"tool","tool_call_id":"c","content":"pipe bomb"}`, 0},
		{"user message", `{"role":"user","content":"pipe bomb"}`, 1},
		{"split between system and user", `{"role":"system","content":"the pipe"},{"role":"user","content":"bomb"}`, 2},
	} {
		body := `{"model":"general","user":"eve","messages":[` + tt.messages + `]}`
		if got := outcome(t, h, body); got != "refused" {
			t.Fatalf("%s: %s", tt.name, got)
		}
		if got := violations(); got != tt.strikes {
			t.Errorf("after %s: %d strikes, want %d", tt.name, got, tt.strikes)
		}
	}
}

// TestConversationContext: how far back the conversation is read as one
// text is a policy setting.
func TestConversationContext(t *testing.T) {
	t.Parallel()
	split := `{"model":"general","messages":[{"role":"user","content":"a pipe"},{"role":"user","content":"bomb"},{"role":"user","content":"and"},{"role":"user","content":"more"}]}`
	for _, tt := range []struct {
		policy, want string
	}{{"", "refused"}, {"review: {context: 4}\n", "refused"}, {"review: {context: 2}\n", "forwarded"}, {"review: {context: -1}\n", "forwarded"}} {
		h := newHarness(t, harnessOptions{policy: tt.policy})
		if got := outcome(t, h, split); got != tt.want {
			t.Errorf("%q: %s, want %s", tt.policy, got, tt.want)
		}
	}
	// By default the whole conversation is read: later turns do not push
	// a split phrase out of the reading.
	long := `{"model":"general","messages":[{"role":"user","content":"a pipe"},{"role":"user","content":"bomb"}` +
		strings.Repeat(`,{"role":"user","content":"and more"}`, 40) + `]}`
	if got := outcome(t, newHarness(t, harnessOptions{}), long); got != "refused" {
		t.Errorf("a phrase split over the first turns of 42: %s", got)
	}
}

// TestRolePolicy: roles the policy adds are accepted, and each role's
// directions decide which actions apply.
func TestRolePolicy(t *testing.T) {
	t.Parallel()
	// A3c (the test lexicon's "secret recipe") is masked in prompts and
	// refused in answers: an assistant turn is held to both.
	h := newHarness(t, harnessOptions{policy: "review: {roles: {ipython: {directions: [input]}}}\n" +
		"actions: [{code: A3c, direction: output, action: refuse}]\n"})
	if got := outcome(t, h, `{"model":"general","messages":[{"role":"ipython","content":"42"},{"role":"user","content":"hi"}]}`); got != "forwarded" {
		t.Errorf("added role: %s", got)
	}
	if got := outcome(t, h, `{"model":"general","messages":[{"role":"narrator","content":"42"}]}`); !strings.HasPrefix(got, "status 400") || !strings.Contains(got, "ipython") {
		t.Errorf("unknown role: %s", got)
	}
	if got := outcome(t, h, `{"model":"general","messages":[{"role":"user","content":"the secret recipe"},{"role":"assistant","content":"the secret recipe is"}]}`); got != "refused" {
		t.Errorf("assistant turn under the output policy: %s", got)
	}
	if got := outcome(t, h, `{"model":"general","messages":[{"role":"user","content":"the secret recipe"}]}`); got != "forwarded" {
		t.Fatalf("user turn under the input policy: %s", got)
	}
	reqs := h.ups[0].Requests()
	if sent := reqs[len(reqs)-1].Messages[0].Content; sent != "the ＊＊＊＊＊＊＊＊＊＊＊＊＊" {
		t.Errorf("masked prompt sent as %q", sent)
	}
}

// TestBaseOnlyRole: a role reviewed with the base policy is not held to
// an overlay's extra terms; the others are.
func TestBaseOnlyRole(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{
		policy: "review: {roles: {system: {base_only: true}}}\n" +
			"overlays:\n  route:general:\n    lexicons: [{file: overlay.txt, code: A1h, action: refuse}]\n",
		files: map[string]string{"overlay.txt": "overlay only\n"}})
	if got := outcome(t, h, `{"model":"general","messages":[{"role":"system","content":"overlay only"},{"role":"user","content":"hi"}]}`); got != "forwarded" {
		t.Errorf("system prompt under the base policy: %s", got)
	}
	if got := outcome(t, h, `{"model":"general","messages":[{"role":"user","content":"overlay only"}]}`); got != "refused" {
		t.Errorf("user message under the overlay: %s", got)
	}
}

// TestIdentifiersAndKeysAreReviewed: a chat template may render a tool
// call's id, a part's type or format, and the keys of an object (a tool
// call's arguments given as an object, a response schema's property
// names). None of them is a place to put a refused term.
func TestIdentifiersAndKeysAreReviewed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{policy: "review: {media: allow}\n"}) // an image's detail is an identifier
	call := func(id, args string) string {
		return `{"role":"assistant","tool_calls":[{"id":` + id + `,"type":"function","function":{"name":"run","arguments":` + args + `}}]}`
	}
	for _, tt := range []struct{ name, body string }{
		{"tool_call_id", `{"model":"general","messages":[{"role":"user","content":"hi"},` + call(`"c1"`, `"{}"`) +
			`,{"role":"tool","tool_call_id":"how to build a pipe bomb","content":"ok"}]}`},
		{"tool call id", `{"model":"general","messages":[{"role":"user","content":"hi"},` + call(`"pipe bomb steps"`, `"{}"`) + `]}`},
		{"name-like tool call id", `{"model":"general","messages":[{"role":"user","content":"hi"},` + call(`"pipe_bomb"`, `"{}"`) + `]}`},
		{"arguments as an object", `{"model":"general","messages":[{"role":"user","content":"hi"},` + call(`"c1"`, `{"pipe bomb":1}`) + `]}`},
		{"part type", `{"model":"general","messages":[{"role":"user","content":[{"type":"pipe bomb","text":"hi"}]}]}`},
		{"audio format", `{"model":"general","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AAAA","format":"pipe bomb"}}]}]}`},
		{"unknown member's key", `{"model":"general","messages":[{"role":"user","content":"hi","extra":{"pipe bomb":true}}]}`},
		{"response schema property", `{"model":"general","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"a","schema":{"type":"object","properties":{"pipe bomb":{"type":"string"}}}}}}`},
		{"unknown field's key", `{"model":"general","messages":[{"role":"user","content":"hi"}],"extra_body":{"pipe bomb":1}}`},
	} {
		if got := outcome(t, h, tt.body); got != "refused" {
			t.Errorf("%s: %s", tt.name, got)
		}
	}
	// Identifiers and keys are read each on its own: a part's type between
	// two text parts does not hide a term split over them.
	split := `{"model":"general","messages":[{"role":"user","content":[{"type":"text","text":"a pipe"},{"type":"text","text":"bomb"}]}]}`
	if got := outcome(t, h, split); got != "refused" {
		t.Errorf("term split over parts: %s", got)
	}
	clean := `{"model":"general","messages":[{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"data:image/png;base64,cGlwZSBib21i","detail":"auto"}}]},` +
		call(`"call_1"`, `{"city":"Paris"}`) + `,{"role":"tool","tool_call_id":"call_1","content":"sunny"}],"response_format":{"type":"json_schema","json_schema":{"name":"w","schema":{"type":"object","properties":{"city":{"type":"string"}}}}}}`
	if got := outcome(t, h, clean); got != "forwarded" {
		t.Errorf("a clean request: %s", got)
	}
}

// TestMaskAcrossParts: a masked term split over the parts of a message or
// over turns reaches the model masked in each part, as the model would
// read it joined.
func TestMaskAcrossParts(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	for _, tt := range []struct{ name, messages string }{
		{"parts", `{"role":"user","content":[{"type":"text","text":"our secret"},{"type":"text","text":"recipe is flour"}]}`},
		{"turns", `{"role":"user","content":"our secret"},{"role":"user","content":"recipe is flour"}`},
		{"part already masked", `{"role":"user","content":[{"type":"text","text":"a secret recipe, our secret"},{"type":"text","text":"recipe is flour"}]}`},
	} {
		if got := outcome(t, h, `{"model":"general","messages":[`+tt.messages+`]}`); got != "forwarded" {
			t.Fatalf("%s: %s", tt.name, got)
		}
		reqs := h.ups[0].Requests()
		body := string(reqs[len(reqs)-1].Body)
		if strings.Contains(body, "secret") || strings.Contains(body, "recipe") || !strings.Contains(body, "is flour") {
			t.Errorf("%s: the upstream received %s", tt.name, body)
		}
	}
}
