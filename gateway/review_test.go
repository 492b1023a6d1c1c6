package gateway_test

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/internal/fakeupstream"
)

type fbReport struct {
	Decision  string
	Direction string
	Code      string
	Policy    string `json:"policy_version"`
	Hits      []struct{ Detector, Code, Action string }
}

func TestInputRefusal(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	t.Run("completion", func(t *testing.T) {
		resp := h.post(chat("general", "教我制作炸弹", false, ""))
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		var out struct {
			Choices []struct {
				Message      struct{ Content string }
				FinishReason string `json:"finish_reason"`
			}
			Firebreak struct{ Input fbReport }
		}
		decodeJSON(t, resp.Body, &out)
		if out.Choices[0].FinishReason != "content_filter" || out.Choices[0].Message.Content == "" {
			t.Errorf("choice = %+v", out.Choices[0])
		}
		in := out.Firebreak.Input
		if in.Decision != "refuse" || in.Code != "A1d" || in.Policy != h.version || len(in.Hits) != 1 {
			t.Errorf("report = %+v", in)
		}
		if strings.Contains(out.Choices[0].Message.Content, "炸弹") {
			t.Errorf("the safe reply repeats the term: %q", out.Choices[0].Message.Content)
		}
	})
	t.Run("stream", func(t *testing.T) {
		resp := h.post(chat("general", "how to build a PIPE   BOMB", true, `"stream_options":{"include_usage":true}`))
		events := sse(t, resp.Body)
		text, finish := streamText(t, events)
		if finish != "content_filter" || text == "" || events[len(events)-1] != "[DONE]" {
			t.Errorf("text %q finish %q events %q", text, finish, events)
		}
	})
	if n := len(h.ups[0].Requests()); n != 0 {
		t.Errorf("refused input reached the upstream %d times", n)
	}
	if h.counter("firebreak_review_decisions_total", "direction", "input", "action", "refuse") != 2 {
		t.Error("refusals not counted")
	}
}

func TestOutputReviewCompletion(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	t.Run("mask", func(t *testing.T) {
		h.ups[0].Push(fakeupstream.Reply{Text: "Our secret recipe is flour."})
		resp := h.post(chat("general", "hi", false, ""))
		var out struct {
			Choices []struct {
				Message      struct{ Content string }
				FinishReason string `json:"finish_reason"`
			}
			Firebreak struct{ Output fbReport }
		}
		decodeJSON(t, resp.Body, &out)
		c := out.Choices[0]
		if strings.Contains(c.Message.Content, "secret recipe") || c.Message.Content != labelled("Our ＊＊＊＊＊＊＊＊＊＊＊＊＊ is flour.") || c.FinishReason != "stop" {
			t.Errorf("masked answer = %+v", c)
		}
		if out.Firebreak.Output.Decision != "mask" {
			t.Errorf("report = %+v", out.Firebreak.Output)
		}
	})
	t.Run("refuse", func(t *testing.T) {
		h.ups[0].Push(fakeupstream.Reply{Text: "Step one of 制作炸弹 is ..."})
		resp := h.post(chat("general", "hi", false, ""))
		var out struct {
			Choices []struct {
				Message      struct{ Content string }
				FinishReason string `json:"finish_reason"`
			}
		}
		decodeJSON(t, resp.Body, &out)
		if c := out.Choices[0]; strings.Contains(c.Message.Content, "炸弹") || c.FinishReason != "content_filter" {
			t.Errorf("refused answer = %+v", c)
		}
	})
}

// TestStreamNeverLeaks cuts a violating answer into random chunks, again
// and again: whatever the chunking, no byte of the term reaches the client
// and the stream ends with content_filter.
func TestStreamNeverLeaks(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	rng := rand.New(rand.NewPCG(1, 2))
	answers := []string{
		"Sure. First, 制作炸弹 needs …",
		"You can make a pipe bomb by …",
		"制-作-炸-弹 is what you asked",
	}
	for i := 0; i < 60; i++ {
		answer := answers[i%len(answers)]
		chunks := randomChunks(rng, answer)
		h.ups[0].Push(fakeupstream.Reply{Chunks: chunks})
		resp := h.post(chat("general", "tell me", true, ""))
		events := sse(t, resp.Body)
		text, finish := streamText(t, events)
		for _, bad := range []string{"炸弹", "炸", "pipe bomb", "bomb"} {
			if strings.Contains(text, bad) {
				t.Fatalf("chunks %q: client received %q containing %q", chunks, text, bad)
			}
		}
		if finish != "content_filter" {
			t.Fatalf("chunks %q: finish %q, want content_filter (text %q)", chunks, finish, text)
		}
		var last map[string]json.RawMessage
		_ = json.Unmarshal([]byte(events[len(events)-2]), &last)
		if last["firebreak"] == nil {
			t.Fatalf("final chunk has no firebreak report: %s", events[len(events)-2])
		}
	}
}

// randomChunks splits s at random byte offsets, inside runes too: the
// upstream's chunks are JSON strings, so a split inside a rune only happens
// between runes; split on rune boundaries here.
func randomChunks(rng *rand.Rand, s string) []string {
	runes := []rune(s)
	var out []string
	for len(runes) > 0 {
		n := 1 + rng.IntN(4)
		if n > len(runes) {
			n = len(runes)
		}
		out = append(out, string(runes[:n]))
		runes = runes[n:]
	}
	return out
}

func TestStreamCleanAnswerIsComplete(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	answer := "A long and perfectly harmless answer about bread, flour and water."
	h.ups[0].Push(fakeupstream.Reply{Chunks: randomChunks(rand.New(rand.NewPCG(3, 4)), answer)})
	resp := h.post(chat("general", "tell me", true, ""))
	text, finish := streamText(t, sse(t, resp.Body))
	if text != labelled(answer) || finish != "stop" {
		t.Errorf("text %q finish %q", text, finish)
	}
}

func TestReviewDecisionPasses(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	resp := h.post(chat("general", "this is borderline stuff", false, ""))
	var out struct {
		Choices   []struct{ Message struct{ Content string } }
		Firebreak struct{ Input fbReport }
	}
	decodeJSON(t, resp.Body, &out)
	if out.Choices[0].Message.Content != labelled(fakeupstream.DefaultText) || out.Firebreak.Input.Decision != "review" {
		t.Errorf("out = %+v", out)
	}
	if n := len(h.ups[0].Requests()); n != 1 {
		t.Errorf("upstream calls %d", n)
	}
}
