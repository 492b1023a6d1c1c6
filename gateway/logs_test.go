package gateway_test

import (
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/firebreak/firebreak/internal/fakeupstream"
	"github.com/firebreak/firebreak/internal/syncbuf"
)

// TestLogsCarryNoContent sends prompts and gets answers that carry planted
// marker text through every path — clean, refused, masked, streamed,
// failed, rejected — concurrently, with debug logging on, and checks that
// no marker reaches the log: only lengths and hashes do.
func TestLogsCarryNoContent(t *testing.T) {
	t.Parallel()
	var logs syncbuf.Buffer
	h := newHarness(t, harnessOptions{audit: true, sanctions: true,
		logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	const promptMark, answerMark = "PLANTEDPROMPT", "PLANTEDANSWER"
	for i := 0; i < 60; i++ {
		h.ups[0].Push(fakeupstream.Reply{Chunks: []string{answerMark + " one ", "two ", "secret recipe"}})
	}
	bodies := []string{
		chat("general", promptMark+" hello", false, `"user":"u1"`),
		chat("general", promptMark+" hello", true, `"user":"u2","stream_options":{"include_usage":true}`),
		chat("general", promptMark+" 制作炸弹", false, `"user":"u3"`),
		chat("general", promptMark+" 制作炸弹", true, ""),
		chat("nope", promptMark, false, ""),
		`{"model":"general","messages":[{"role":"user","content":"` + promptMark + `"}],"n":0}`,
	}
	var wg sync.WaitGroup
	for i := 0; i < 60; i++ {
		wg.Add(1)
		go func(body string) {
			defer wg.Done()
			resp := h.post(body)
			sse(t, resp.Body)
		}(bodies[i%len(bodies)])
	}
	wg.Wait()
	out := logs.String()
	if !strings.Contains(out, `"prompt_bytes"`) || !strings.Contains(out, `"prompt_sha256"`) {
		t.Fatalf("the log lines lack the length and hash fields:\n%.2000s", out)
	}
	for _, mark := range []string{promptMark, answerMark, "制作炸弹", "secret recipe"} {
		if strings.Contains(out, mark) {
			t.Fatalf("log output contains %q", mark)
		}
	}
	if n := strings.Count(out, `"msg":"request"`); n != 60 {
		t.Errorf("%d request lines for 60 requests", n)
	}
}
