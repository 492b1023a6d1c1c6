package gateway_test

import (
	"log/slog"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/firebreak/firebreak/internal/fakeupstream"
	"github.com/firebreak/firebreak/internal/syncbuf"
	"github.com/firebreak/firebreak/kb"
)

const (
	sideEffects = "What are the side effects of metformin? Is lactic acidosis serious?"
	// contradicted reuses the leaflet's words but says the opposite: the
	// lexical check passes it.
	contradicted = "Nausea and diarrhoea are common in the first weeks [1]. Lactic acidosis is rare and not serious, so there is no need to stop the medicine [1]."
)

var judgedLine = regexp.MustCompile(`(?m)^(\d+)\. (.*)$`)

// negationJudge plays a judge model: it reads the numbered sentences it
// is sent and finds unsupported those that call something "not serious"
// (the leaflet says lactic acidosis is serious). While failing holds a
// reply, it answers that instead.
func negationJudge(failing *atomic.Pointer[fakeupstream.Reply]) func(fakeupstream.Request) fakeupstream.Reply {
	return func(req fakeupstream.Request) fakeupstream.Reply {
		if r := failing.Load(); r != nil {
			return *r
		}
		user := req.Messages[len(req.Messages)-1].Content
		_, sentences, _ := strings.Cut(user, "SENTENCES\n")
		var bad []string
		for _, m := range judgedLine.FindAllStringSubmatch(sentences, -1) {
			if strings.Contains(m[2], "not serious") {
				bad = append(bad, m[1])
			}
		}
		if len(bad) == 0 {
			return fakeupstream.Reply{Text: "UNSUPPORTED: none"}
		}
		return fakeupstream.Reply{Text: "UNSUPPORTED: " + strings.Join(bad, ", ")}
	}
}

func flaggedOf(a groundedAnswer) []map[string]any {
	var out []map[string]any
	for _, f := range a.grounding["support"].([]any)[0].(map[string]any)["flagged"].([]any) {
		out = append(out, f.(map[string]any))
	}
	return out
}

// TestGroundedJudgeCatchesWhatLexicalMisses: a contradiction that reuses
// the passage's words passes the lexical check; with a judge model
// configured it is flagged, and the route's action applies, streamed or
// not.
func TestGroundedJudgeCatchesWhatLexicalMisses(t *testing.T) {
	// Without a judge the contradiction passes.
	h := groundedHarness(t, kb.Annotate)
	for _, stream := range []bool{false, true} {
		h.ups[0].Push(fakeupstream.Reply{Chunks: chunksOf(contradicted, 6)})
		a := h.askGrounded(t, "medical", sideEffects, stream)
		if unlabelled(a.text) != contradicted || a.code != "" || len(flaggedOf(a)) != 0 {
			t.Fatalf("without a judge, stream=%v: %+v", stream, a)
		}
	}

	marked := strings.Replace(contradicted, "medicine [1].", "medicine [1]."+kb.Marker, 1)
	tests := []struct {
		action kb.Action
		want   string
		finish string
	}{
		{kb.Annotate, marked, "stop"},
		{kb.Refuse, kb.RefusalText, "content_filter"},
	}
	for _, tt := range tests {
		t.Run(string(tt.action), func(t *testing.T) {
			var failing atomic.Pointer[fakeupstream.Reply]
			h := groundedHarnessWith(t, tt.action, harnessOptions{audit: true, judge: negationJudge(&failing)})
			for _, stream := range []bool{false, true} {
				h.ups[0].Push(fakeupstream.Reply{Chunks: chunksOf(contradicted, 6)})
				a := h.askGrounded(t, "medical", sideEffects, stream)
				want := tt.want
				if stream && tt.action == kb.Refuse {
					// The first sentence was judged, and released, alone.
					want = "Nausea and diarrhoea are common in the first weeks [1]. " + kb.RefusalText
				}
				if unlabelled(a.text) != want || a.finish != tt.finish || a.code != "A5a" {
					t.Fatalf("stream=%v:\n got %q %s %q\nwant %q %s A5a", stream, a.text, a.finish, a.code, want, tt.finish)
				}
				f := flaggedOf(a)
				if len(f) != 1 || !strings.Contains(f[0]["text"].(string), "not serious") || f[0]["judged"] != true {
					t.Fatalf("stream=%v: flagged %v", stream, f)
				}
				r := h.recordOf(t, a.requestID)
				if r.Output.Code != "A5a" || len(r.Output.Hits) != 1 || r.Output.Hits[0].Detector != "grounding" {
					t.Errorf("stream=%v: record %+v", stream, r.Output)
				}
			}
			// The judge read the passages and the numbered sentences.
			reqs := h.judgeUp.Requests()
			if len(reqs) == 0 {
				t.Fatal("the judge was not asked")
			}
			first := reqs[0].Messages
			if first[0].Role != "system" || !strings.Contains(first[1].Content, "Lactic acidosis is rare but serious") ||
				!strings.Contains(first[1].Content, "1. Nausea and diarrhoea") || !strings.Contains(first[1].Content, "2. Lactic acidosis is rare and not serious") {
				t.Errorf("the judge read %+v", first)
			}
			if n := h.counter("firebreak_judge_failures_total"); n != 0 {
				t.Errorf("%v judge failures", n)
			}
		})
	}
}

// TestGroundedJudgeFailureFallsBack: when the judge times out, fails or
// answers out of format, the lexical check's result stands (an invented
// sentence is still flagged, the contradiction is not), the failure is
// counted, and the log carries no content.
func TestGroundedJudgeFailureFallsBack(t *testing.T) {
	var logs syncbuf.Buffer
	var failing atomic.Pointer[fakeupstream.Reply]
	h := groundedHarnessWith(t, kb.Annotate, harnessOptions{audit: true, judge: negationJudge(&failing),
		logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	failures := []fakeupstream.Reply{
		{Status: 503},
		{Text: "Sentence 2 looks unsupported to me."},
		{Text: "UNSUPPORTED: 9"},
		{Raw: []string{`{"choices": []}`}},
	}
	n := 0
	for _, fail := range failures {
		failing.Store(&fail)
		for _, stream := range []bool{false, true} {
			h.ups[0].Push(fakeupstream.Reply{Chunks: chunksOf(contradicted, 6)})
			a := h.askGrounded(t, "medical", sideEffects, stream)
			if unlabelled(a.text) != contradicted || a.code != "" || len(flaggedOf(a)) != 0 {
				t.Fatalf("%+v stream=%v: %+v", fail, stream, a)
			}
			h.ups[0].Push(fakeupstream.Reply{Chunks: chunksOf(invented, 6)})
			a = h.askGrounded(t, "medical", question, stream)
			if f := flaggedOf(a); a.code != "A5a" || len(f) != 1 || !strings.Contains(f[0]["text"].(string), "hair loss") || f[0]["judged"] != false {
				t.Fatalf("%+v stream=%v: lexical result lost: %+v", fail, stream, a)
			}
			n++
		}
	}
	// Each answer asked the judge at least once and every call failed.
	if got, calls := h.counter("firebreak_judge_failures_total"), len(h.judgeUp.Requests()); got < float64(2*n) || got != float64(calls) {
		t.Errorf("%v judge failures counted, %d calls", got, calls)
	}
	for _, word := range []string{"not serious", "hair loss", "Lactic", "Sentence 2"} {
		if strings.Contains(logs.String(), word) {
			t.Errorf("the log carries %q", word)
		}
	}
	if !strings.Contains(logs.String(), "judge model failed") {
		t.Error("judge failures were not logged")
	}
}
