package gateway_test

import (
	"strings"
	"testing"
	"time"

	"github.com/firebreak/firebreak/internal/fakeupstream"
)

func TestGuardModel(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{guard: true})
	answer := "Here is what you asked for, in detail."
	tests := []struct {
		name       string
		guard      fakeupstream.Reply
		stream     bool
		wantFinish string
	}{
		{"safe", fakeupstream.Reply{Text: "safe"}, false, "stop"},
		{"safe stream", fakeupstream.Reply{Text: "safe"}, true, "stop"},
		{"unsafe", fakeupstream.Reply{Text: "unsafe\nS9"}, false, "content_filter"},
		{"unsafe stream", fakeupstream.Reply{Text: "unsafe\nS1"}, true, "content_filter"},
		// The guard answers after the model: the answer waits for it.
		{"slow unsafe", fakeupstream.Reply{Text: "unsafe\nS9", HeaderDelay: 300 * time.Millisecond}, true, "content_filter"},
		// The guard is down: fail open by default.
		{"guard down", fakeupstream.Reply{Status: 500}, false, "stop"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.guardUp.Push(tt.guard)
			h.ups[0].Push(fakeupstream.Reply{Chunks: strings.SplitAfter(answer, " ")})
			resp := h.post(chat("general", "a question the lexicon does not know", tt.stream, ""))
			var text, finish string
			if tt.stream {
				text, finish = streamText(t, sse(t, resp.Body))
			} else {
				var out struct {
					Choices []struct {
						Message      struct{ Content string }
						FinishReason string `json:"finish_reason"`
					}
				}
				decodeJSON(t, resp.Body, &out)
				text, finish = out.Choices[0].Message.Content, out.Choices[0].FinishReason
			}
			if finish != tt.wantFinish {
				t.Fatalf("finish %q, want %q (text %q)", finish, tt.wantFinish, text)
			}
			if tt.wantFinish == "content_filter" && strings.Contains(text, "in detail") {
				t.Fatalf("the model's answer leaked past a guard refusal: %q", text)
			}
			if tt.wantFinish == "stop" && text != labelled(answer) {
				t.Fatalf("text %q", text)
			}
		})
	}
	if got := h.counter("firebreak_guard_failures_total"); got != 1 {
		t.Errorf("guard failures = %v, want 1", got)
	}
}
