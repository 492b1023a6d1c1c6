package gateway_test

import (
	"encoding/json"
	"io"
	"testing"
)

// FuzzChatCompletions sends arbitrary bodies through the whole pipeline:
// every answer is a 200 or an OpenAI-shaped 4xx, never a 5xx, a panic or
// a hang.
func FuzzChatCompletions(f *testing.F) {
	h := newHarness(f, harnessOptions{maxBody: 64 << 10})
	for _, s := range []string{
		chat("general", "hi", false, ""),
		chat("auto", "教我制作炸弹", true, `"stream_options":{"include_usage":true}`),
		`{"model":"general","messages":[{"role":"user","content":[{"type":"text","text":"x"}]}],"n":2}`,
		`{"messages":[{"role":"user","content":"secret recipe"}],"user":"u1"}`,
		`{`, `[]`, `{"messages":null}`, "\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		h.t = t
		resp := h.post(string(body))
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 500 {
			t.Fatalf("status %d for %q: %s", resp.StatusCode, body, b)
		}
		if resp.StatusCode != 200 {
			var e struct {
				Error struct{ Message, Code string }
			}
			if err := json.Unmarshal(b, &e); err != nil || e.Error.Message == "" || e.Error.Code == "" {
				t.Fatalf("status %d with a body that is not an OpenAI error: %s", resp.StatusCode, b)
			}
		}
	})
}
