package gateway_test

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/internal/fakeupstream"
)

// TestQuotaWithoutReportedUsage runs an end user's token quota down with
// a model server that reports no usage: a chat completion, streamed or
// not, and an embeddings request each count an estimate of the tokens
// they used, so the next request is refused. (A complete answer without
// usage counted nothing, so a client that did not stream was never
// limited.)
func TestQuotaWithoutReportedUsage(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{userLimits: account.Limits{TokenQuota: 200}})
	long := strings.Repeat("words ", 200) // 1,200 bytes: about 300 tokens
	vector := `[` + strings.TrimSuffix(strings.Repeat("0.5,", 8), ",") + `]`
	for _, c := range []struct {
		name, path, body string
		reply            fakeupstream.Reply
	}{
		{"complete", "/v1/chat/completions", chat("general", "hi", false, `"user":"u1"`),
			fakeupstream.Reply{Raw: []string{`{"id":"x","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"` + long + `"},"finish_reason":"stop"}]}`}}},
		{"stream", "/v1/chat/completions", chat("general", "hi", true, `"user":"u2"`),
			fakeupstream.Reply{Raw: []string{`{"id":"x","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"` + long + `"},"finish_reason":"stop"}]}`}}},
		{"embeddings", "/v1/embeddings", `{"model":"general","user":"u3","input":"` + long + `"}`,
			fakeupstream.Reply{Raw: []string{`{"object":"list","model":"m","data":[{"object":"embedding","index":0,"embedding":` + vector + `}]}`}}},
	} {
		h.ups[0].Push(c.reply)
		resp := h.do("POST", c.path, c.body, h.key)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d", c.name, resp.StatusCode)
		}
		_, _ = io.Copy(io.Discard, resp.Body) // the tokens are counted when the answer ends
		resp.Body.Close()
		// The count lands when the handler returns, just after the
		// client has the answer: allow a few tries (each admitted one
		// counts as much again), never one that counts nothing.
		got := 0
		for try := 0; try < 5 && got != 429; try++ {
			time.Sleep(20 * time.Millisecond)
			h.ups[0].Push(c.reply)
			resp := h.do("POST", c.path, c.body, h.key)
			got = resp.StatusCode
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		if got != 429 {
			t.Errorf("%s: a user past the quota: status %d, want 429", c.name, got)
		}
	}
}
