package gateway_test

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/internal/fakeupstream"
	"github.com/firebreak/firebreak/kb"
	"github.com/firebreak/firebreak/review"
)

// groundedHarness is a harness whose route "medical" is grounded in a
// knowledge base holding the metformin leaflet of kb's test corpus.
func groundedHarness(t *testing.T, action kb.Action) *harness {
	t.Helper()
	return groundedHarnessWith(t, action, harnessOptions{audit: true})
}

func groundedHarnessWith(t *testing.T, action kb.Action, o harnessOptions) *harness {
	t.Helper()
	h := newHarness(t, o)
	ctx := t.Context()
	if _, err := h.kb.CreateBase(ctx, kb.Base{Name: "leaflets", Route: "medical"}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("../kb/testdata/corpus/metformin.md")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.kb.AddDocument(ctx, "leaflets", kb.NewDocument{Title: "metformin.md", Data: data}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.kb.SetGrounding(ctx, kb.Grounding{Route: "medical", Action: action, TopK: 2}); err != nil {
		t.Fatal(err)
	}
	return h
}

const (
	question  = "What is the maximum daily dose of metformin?"
	supported = "The maximum daily dose is 2000 mg for the extended-release tablets [1]. The usual starting dose is 500 mg with meals [1]."
	invented  = "The maximum daily dose is 2000 mg for the extended-release tablets [1]. Metformin also cures hair loss within a week. Ask your doctor."
)

// chunksOf cuts text into deltas of n bytes or fewer at rune boundaries,
// so sentences straddle chunks.
func chunksOf(text string, n int) []string {
	var out []string
	var cur strings.Builder
	for _, r := range text {
		cur.WriteRune(r)
		if cur.Len() >= n {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// unlabelled is text without the explicit label the test bundle places,
// in English or, after a Chinese refusal, in Chinese.
func unlabelled(text string) string {
	for _, l := range []string{"\n\nAI-generated content", "\n\n本内容由人工智能生成"} {
		if s, ok := strings.CutSuffix(text, l); ok {
			return s
		}
	}
	return "(no label) " + text
}

type groundedAnswer struct {
	text, finish, decision, code string
	grounding                    map[string]any
	requestID                    string
}

// ask sends question to model, streamed or not, and reads the answer.
func (h *harness) askGrounded(t *testing.T, model, q string, stream bool) groundedAnswer {
	t.Helper()
	resp := h.post(chat(model, q, stream, ""))
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	a := groundedAnswer{decision: resp.Header.Get("X-Firebreak-Decision"), requestID: resp.Header.Get("X-Request-Id")}
	var last map[string]any
	if stream {
		events := sse(t, resp.Body)
		a.text, a.finish = streamText(t, events)
		for _, e := range events {
			var m map[string]any
			if json.Unmarshal([]byte(e), &m) == nil {
				if g, ok := m["grounding"].(map[string]any); ok {
					a.grounding = g
				}
				if _, ok := m["firebreak"]; ok {
					last = m
				}
			}
		}
	} else {
		var body struct {
			Choices []struct {
				Message struct {
					Content string `json:"content"`
				} `json:"message"`
				FinishReason string `json:"finish_reason"`
			} `json:"choices"`
			Grounding map[string]any `json:"grounding"`
			Firebreak map[string]any `json:"firebreak"`
		}
		decodeJSON(t, resp.Body, &body)
		a.text, a.finish, a.grounding = body.Choices[0].Message.Content, body.Choices[0].FinishReason, body.Grounding
		last = map[string]any{"firebreak": body.Firebreak}
	}
	if fb, ok := last["firebreak"].(map[string]any); ok && fb != nil {
		if out, ok := fb["output"].(map[string]any); ok {
			a.code, _ = out["code"].(string)
		}
	}
	return a
}

func (h *harness) recordOf(t *testing.T, id string) audit.Entry {
	t.Helper()
	es := h.records(audit.Query{RequestID: id})
	if len(es) != 1 {
		t.Fatalf("%d records of %s", len(es), id)
	}
	return es[0]
}

func TestGroundedRouteCitesItsPassages(t *testing.T) {
	h := groundedHarness(t, kb.Annotate)
	for _, stream := range []bool{false, true} {
		h.ups[0].Push(fakeupstream.Reply{Chunks: chunksOf(supported, 7)})
		a := h.askGrounded(t, "medical", question, stream)
		if a.text != labelled(supported) || a.finish != "stop" || a.decision != "" {
			t.Fatalf("stream=%v: %+v", stream, a)
		}
		cites, _ := a.grounding["citations"].([]any)
		if len(cites) == 0 {
			t.Fatalf("stream=%v: no citations: %v", stream, a.grounding)
		}
		c0 := cites[0].(map[string]any)
		if c0["title"] != "metformin.md" || c0["cited"] != true || c0["index"].(float64) != 1 || !strings.Contains(c0["excerpt"].(string), "Metformin") {
			t.Errorf("stream=%v: citation %v", stream, c0)
		}
		sup := a.grounding["support"].([]any)[0].(map[string]any)
		if sup["claims"].(float64) != 2 || sup["unsupported"].(float64) != 0 {
			t.Errorf("stream=%v: support %v", stream, sup)
		}
		// The model read the passages and the instructions, first.
		reqs := h.ups[0].Requests()
		msgs := reqs[len(reqs)-1].Messages
		if msgs[0].Role != "system" || !strings.HasPrefix(msgs[0].Content, kb.Instructions) ||
			!strings.Contains(msgs[0].Content, "[1] metformin.md") || !strings.Contains(msgs[0].Content, "2000 mg") || msgs[1].Content != question {
			t.Fatalf("stream=%v: upstream read %+v", stream, msgs)
		}
		if r := h.recordOf(t, a.requestID); r.Output.Action.String() != "allow" {
			t.Errorf("record: %+v", r.Output)
		}
	}
	// A route that is not grounded is left alone.
	h.ups[0].Push(fakeupstream.Reply{Text: "hello"})
	a := h.askGrounded(t, "general", question, false)
	reqs := h.ups[0].Requests()
	if a.grounding != nil || reqs[len(reqs)-1].Messages[0].Role != "user" {
		t.Fatalf("an ungrounded route was grounded: %+v", a)
	}
}

func TestGroundedRouteActions(t *testing.T) {
	marked := strings.Replace(invented, "within a week. ", "within a week."+kb.Marker+" ", 1)
	tests := []struct {
		action   kb.Action
		want     string // the delivered text, before the label
		finish   string
		decision string
	}{
		{kb.Annotate, marked, "stop", "review"},
		{kb.Caution, invented + kb.CautionText, "stop", "review"},
		{kb.Refuse, kb.RefusalText, "content_filter", "refuse"},
	}
	for _, tt := range tests {
		t.Run(string(tt.action), func(t *testing.T) {
			h := groundedHarness(t, tt.action)
			for _, stream := range []bool{false, true} {
				h.ups[0].Push(fakeupstream.Reply{Chunks: chunksOf(invented, 5)})
				a := h.askGrounded(t, "medical", question, stream)
				want := tt.want
				if stream && tt.action == kb.Refuse {
					// The supported sentence had gone out before the
					// invented one was complete.
					want = "The maximum daily dose is 2000 mg for the extended-release tablets [1]. " + kb.RefusalText
				}
				if unlabelled(a.text) != want || a.finish != tt.finish || a.code != "A5a" {
					t.Fatalf("stream=%v:\n got %q %s %s\nwant %q %s A5a", stream, a.text, a.finish, a.code, want, tt.finish)
				}
				if !stream && a.decision != tt.decision {
					t.Errorf("X-Firebreak-Decision %q", a.decision)
				}
				flagged := a.grounding["support"].([]any)[0].(map[string]any)["flagged"].([]any)
				if len(flagged) != 1 || !strings.Contains(flagged[0].(map[string]any)["text"].(string), "hair loss") {
					t.Errorf("stream=%v: flagged %v", stream, flagged)
				}
				// The record carries the decision, for the review desk.
				r := h.recordOf(t, a.requestID)
				if r.Output.Action.String() != tt.decision || r.Output.Code != "A5a" || len(r.Output.Hits) != 1 || r.Output.Hits[0].Detector != "grounding" {
					t.Errorf("stream=%v: record %+v", stream, r.Output)
				}
			}
			es := h.records(audit.Query{Decision: tt.decision})
			if len(es) != 2 {
				t.Errorf("%d records with decision %s", len(es), tt.decision)
			}
			// Annotated and cautioned answers wait at the review desk;
			// refused ones, like any refusal, do not.
			items, err := h.review.List(t.Context(), review.Filter{Source: review.SourceReview, Code: "A5a"})
			if err != nil {
				t.Fatal(err)
			}
			if want := map[string]int{"review": 2, "refuse": 0}[tt.decision]; len(items) != want {
				t.Errorf("%d items at the review desk, want %d", len(items), want)
			}
			for _, it := range items {
				if !slices.ContainsFunc(es, func(e audit.Entry) bool { return e.ID == it.RecordID }) {
					t.Errorf("desk item %s names record %s, not a flagged answer", it.ID, it.RecordID)
				}
			}
		})
	}
}

func TestGroundedRouteWithNothingFound(t *testing.T) {
	h := groundedHarness(t, kb.Refuse)
	h.ups[0].Push(fakeupstream.Reply{Text: "Quantum chromodynamics explains the strong nuclear force between quarks."})
	a := h.askGrounded(t, "medical", "Explain quantum chromodynamics", false)
	if unlabelled(a.text) != kb.RefusalText || a.code != "A5b" {
		t.Fatalf("%+v", a)
	}
	reqs := h.ups[0].Requests()
	if !strings.Contains(reqs[len(reqs)-1].Messages[0].Content, "No passages were found") {
		t.Errorf("the model was not told that nothing was found")
	}
	// An answer that says the sources do not tell is no claim.
	h.ups[0].Push(fakeupstream.Reply{Text: "The passages do not contain that. 资料中没有相关信息。"})
	if a := h.askGrounded(t, "medical", "Explain quantum chromodynamics", true); a.finish != "stop" || a.code != "" {
		t.Fatalf("abstention: %+v", a)
	}
}
