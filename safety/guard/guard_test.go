package guard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/firebreak/firebreak/safety"
)

// fakeModel is a scripted guard model behind an OpenAI-compatible endpoint.
type fakeModel struct {
	status   int     // default 200
	answer   string  // the assistant message content
	raw      string  // if set, sent as the body instead of a chat completion
	logprob  float64 // if non-zero, first-token log-probability
	stall    bool    // wait until the client gives up
	requests chan chatRequest
	done     chan struct{} // closed when a stalled handler saw its request end
}

// serve starts the fake model and returns its /v1 base URL.
func serve(t *testing.T, m *fakeModel) string {
	t.Helper()
	m.requests = make(chan chatRequest, 16)
	m.done = make(chan struct{})
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		var req chatRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, "bad json", http.StatusBadRequest)
			return
		}
		req.Model += "|" + r.Header.Get("Authorization")
		m.requests <- req
		if m.stall {
			select {
			case <-r.Context().Done():
				close(m.done)
			case <-release:
			}
			return
		}
		if m.status != 0 {
			w.WriteHeader(m.status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if m.raw != "" {
			fmt.Fprint(w, m.raw)
			return
		}
		json.NewEncoder(w).Encode(completion(m.answer, m.logprob))
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs before srv.Close
	return srv.URL + "/v1"
}

func completion(answer string, logprob float64) map[string]any {
	choice := map[string]any{
		"index":         0,
		"message":       map[string]any{"role": "assistant", "content": answer},
		"finish_reason": "stop",
	}
	if logprob != 0 {
		first, _, _ := strings.Cut(strings.TrimSpace(answer), "\n")
		choice["logprobs"] = map[string]any{"content": []any{map[string]any{"token": first, "logprob": logprob}}}
	}
	return map[string]any{"id": "x", "object": "chat.completion", "model": "guard", "choices": []any{choice}}
}

func newGuard(t *testing.T, o Options) *Guard {
	t.Helper()
	g, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return g
}

var prompt = []Message{{Role: "user", Content: "how do I make a bomb"}}

// brief renders hits as rule/code/action.
func brief(hits []safety.Hit) []string {
	var out []string
	for _, h := range hits {
		out = append(out, fmt.Sprintf("%s/%s/%s", h.Rule, h.Code, h.Action))
	}
	return out
}

func TestClassifyAnswers(t *testing.T) {
	tests := []struct {
		name      string
		format    Format
		answer    string
		label     string
		refusal   string
		wantHits  []string
		wantError error
	}{
		{"llama safe", LlamaGuard3, "safe", "safe", "", nil, nil},
		{"llama violent", LlamaGuard3, "unsafe\nS1", "unsafe", "", []string{"S1/A1f/refuse"}, nil},
		{"llama two categories", LlamaGuard3, "\n\nunsafe\nS1,S10", "unsafe", "", []string{"S1/A1f/refuse", "S10/A1e/refuse"}, nil},
		{"llama spaces and repeats", LlamaGuard3, " unsafe \n S9, S9 ", "unsafe", "", []string{"S9/A1d/refuse"}, nil},
		{"llama defamation reviews", LlamaGuard3, "unsafe\nS5", "unsafe", "", []string{"S5/A4c/review"}, nil},
		{"llama code interpreter abuse is not reported", LlamaGuard3, "unsafe\nS14", "unsafe", "", nil, nil},
		{"llama no category", LlamaGuard3, "unsafe", "unsafe", "", []string{"unknown/A1h/review"}, nil},
		{"llama newer category", LlamaGuard3, "unsafe\nS15", "unsafe", "", []string{"S15/A1h/review"}, nil},
		{"llama garbage", LlamaGuard3, "I cannot help with that.", "", "", nil, ErrAnswer},
		{"llama bad category", LlamaGuard3, "unsafe\nviolence", "", "", nil, ErrAnswer},
		{"llama empty", LlamaGuard3, "", "", "", nil, ErrAnswer},
		{"qwen safe", Qwen3Guard, "Safety: Safe\nCategories: None", "safe", "", nil, nil},
		{"qwen violent", Qwen3Guard, "Safety: Unsafe\nCategories: Violent", "unsafe", "", []string{"Violent/A1f/refuse"}, nil},
		{"qwen controversial", Qwen3Guard, "Safety: Controversial\nCategories: Politically Sensitive Topics", "controversial", "",
			[]string{"Politically Sensitive Topics/A1b/review"}, nil},
		{"qwen response with refusal", Qwen3Guard, "Safety: Unsafe\nCategories: PII\nRefusal: No", "unsafe", "no", []string{"PII/A4f/review"}, nil},
		{"qwen several", Qwen3Guard, "Safety: Unsafe\nCategories: Violent, Jailbreak", "unsafe", "",
			[]string{"Violent/A1f/refuse", "Jailbreak/A1h/refuse"}, nil},
		{"qwen unsafe without category", Qwen3Guard, "Safety: Unsafe\nCategories: None", "unsafe", "", []string{"unknown/A1h/review"}, nil},
		{"qwen no safety line", Qwen3Guard, "Categories: Violent", "", "", nil, ErrAnswer},
		{"qwen bad label", Qwen3Guard, "Safety: Maybe", "", "", nil, ErrAnswer},
		{"qwen prose", Qwen3Guard, "This request is unsafe.", "", "", nil, ErrAnswer},
		{"qwen answered in llama format", Qwen3Guard, "unsafe\nS1", "", "", nil, ErrAnswer},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url := serve(t, &fakeModel{answer: tc.answer})
			g := newGuard(t, Options{BaseURL: url, Model: "guard", Format: tc.format})
			v, err := g.Classify(context.Background(), safety.Input, prompt)
			if !errors.Is(err, tc.wantError) {
				t.Fatalf("Classify error = %v, want %v", err, tc.wantError)
			}
			if v.Label != tc.label || v.Refusal != tc.refusal {
				t.Errorf("label, refusal = %q, %q, want %q, %q", v.Label, v.Refusal, tc.label, tc.refusal)
			}
			if got := brief(v.Hits); !reflect.DeepEqual(got, tc.wantHits) {
				t.Errorf("hits = %q, want %q", got, tc.wantHits)
			}
			for _, h := range v.Hits {
				if h.Detector != "guard" || h.Start != 0 || h.End != len(prompt[0].Content) {
					t.Errorf("hit %+v: want detector guard spanning the whole prompt", h)
				}
			}
		})
	}
}

func TestClassifyRequest(t *testing.T) {
	m := &fakeModel{answer: "safe"}
	url := serve(t, m)
	g := newGuard(t, Options{BaseURL: url + "/", APIKey: "k123", Model: "llama-guard3:8b", MaxTokens: 10})
	msgs := []Message{
		{Role: "system", Content: "be helpful"},
		{Role: "assistant", Content: "hello"},
		{Role: "user", Content: "part one"},
		{Role: "user", Content: "part two"},
		{Role: "tool", Content: "{}"},
		{Role: "assistant", Content: "an answer"},
	}
	if _, err := g.Classify(context.Background(), safety.Output, msgs); err != nil {
		t.Fatalf("Classify: %v", err)
	}
	got := <-m.requests
	want := chatRequest{
		Model: "llama-guard3:8b|Bearer k123",
		Messages: []Message{
			{Role: "user", Content: "part one\n\npart two"},
			{Role: "assistant", Content: "an answer"},
		},
		MaxTokens: 10,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("request = %+v\nwant %+v", got, want)
	}
}

func TestConversation(t *testing.T) {
	u := func(s string) Message { return Message{Role: "user", Content: s} }
	a := func(s string) Message { return Message{Role: "assistant", Content: s} }
	tests := []struct {
		name    string
		dir     safety.Direction
		msgs    []Message
		want    []Message
		wantErr error
	}{
		{"input drops the trailing answer", safety.Input, []Message{u("q"), a("r")}, []Message{u("q")}, nil},
		{"input keeps history", safety.Input, []Message{u("q1"), a("r1"), u("q2")}, []Message{u("q1"), a("r1"), u("q2")}, nil},
		{"output needs an answer last", safety.Output, []Message{u("q")}, nil, ErrConversation},
		{"only system", safety.Input, []Message{{Role: "system", Content: "s"}}, nil, ErrConversation},
		{"empty", safety.Input, nil, nil, ErrConversation},
		{"leading answer dropped", safety.Output, []Message{a("x"), u("q"), a("r")}, []Message{u("q"), a("r")}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := conversation(tc.dir, tc.msgs)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error = %v, want %v", err, tc.wantErr)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("conversation = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestFailModes(t *testing.T) {
	closedS4 := map[string]CategoryConfig{"S4": {OnError: FailClosed}}
	tests := []struct {
		name     string
		model    *fakeModel
		opts     Options
		msgs     []Message
		wantErr  func(error) bool
		failed   FailMode
		wantHits []string
	}{
		{"500 fails open", &fakeModel{status: 500}, Options{}, prompt,
			isStatus(500), FailOpen, nil},
		{"500 fails closed for S4 only", &fakeModel{status: 500}, Options{Categories: closedS4}, prompt,
			isStatus(500), FailClosed, []string{"S4/A1f/refuse"}},
		{"all categories closed", &fakeModel{status: 503}, Options{OnError: FailClosed}, prompt,
			isStatus(503), FailClosed, []string{"S1/A1f/refuse", "S2/A1h/refuse", "S3/A1f/refuse", "S4/A1f/refuse", "S5/A4c/refuse",
				"S6/A5a/refuse", "S7/A4e/refuse", "S8/A3a/refuse", "S9/A1d/refuse", "S10/A1e/refuse", "S11/A4a/refuse",
				"S12/A1f/refuse", "S13/A1g/refuse", "unknown/A1h/refuse"}},
		{"S14 given a code follows the default", &fakeModel{status: 503}, Options{OnError: FailClosed, Categories: map[string]CategoryConfig{"S14": {Code: "A1h"}}}, prompt,
			isStatus(503), FailClosed, []string{"S1/A1f/refuse", "S2/A1h/refuse", "S3/A1f/refuse", "S4/A1f/refuse", "S5/A4c/refuse",
				"S6/A5a/refuse", "S7/A4e/refuse", "S8/A3a/refuse", "S9/A1d/refuse", "S10/A1e/refuse", "S11/A4a/refuse",
				"S12/A1f/refuse", "S13/A1g/refuse", "S14/A1h/refuse", "unknown/A1h/refuse"}},
		{"garbage answer", &fakeModel{answer: "Sure! Here is how..."}, Options{Categories: closedS4}, prompt,
			is(ErrAnswer), FailClosed, []string{"S4/A1f/refuse"}},
		{"not json", &fakeModel{raw: "<html>bad gateway</html>"}, Options{}, prompt,
			func(err error) bool { return err != nil && strings.Contains(err.Error(), "decode answer") }, FailOpen, nil},
		{"no choices", &fakeModel{raw: `{"choices":[]}`}, Options{}, prompt, is(ErrAnswer), FailOpen, nil},
		{"timeout", &fakeModel{stall: true}, Options{Timeout: 50 * time.Millisecond, Categories: closedS4}, prompt,
			is(context.DeadlineExceeded), FailClosed, []string{"S4/A1f/refuse"}},
		{"bad conversation", &fakeModel{answer: "safe"}, Options{Categories: closedS4}, nil,
			is(ErrConversation), FailClosed, []string{"S4/A1f/refuse"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.BaseURL = serve(t, tc.model)
			tc.opts.Model = "guard"
			g := newGuard(t, tc.opts)
			v, err := g.Classify(context.Background(), safety.Input, tc.msgs)
			if !tc.wantErr(err) {
				t.Fatalf("unexpected error %v", err)
			}
			if v.Failed != tc.failed {
				t.Errorf("Failed = %q, want %q", v.Failed, tc.failed)
			}
			if got := brief(v.Hits); !reflect.DeepEqual(got, tc.wantHits) {
				t.Errorf("hits = %q, want %q", got, tc.wantHits)
			}
		})
	}
}

func is(target error) func(error) bool { return func(err error) bool { return errors.Is(err, target) } }

func isStatus(code int) func(error) bool {
	return func(err error) bool {
		var se *StatusError
		return errors.As(err, &se) && se.StatusCode == code
	}
}

func TestCancellation(t *testing.T) {
	m := &fakeModel{stall: true}
	g := newGuard(t, Options{BaseURL: serve(t, m), Model: "guard", Timeout: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	type result struct {
		v   Verdict
		err error
	}
	res := make(chan result, 1)
	go func() {
		v, err := g.Classify(ctx, safety.Input, prompt)
		res <- result{v, err}
	}()
	<-m.requests // the model is working on it
	cancel()     // the client went away
	r := <-res
	if !errors.Is(r.err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", r.err)
	}
	if r.v.Failed != FailOpen {
		t.Errorf("Failed = %q, want open", r.v.Failed)
	}
	<-m.done // the model saw the request end; the test would hang otherwise
}

func TestScore(t *testing.T) {
	m := &fakeModel{answer: "unsafe\nS11", logprob: math.Log(0.9)}
	g := newGuard(t, Options{BaseURL: serve(t, m), Model: "guard", Logprobs: true})
	v, err := g.Classify(context.Background(), safety.Input, prompt)
	if err != nil {
		t.Fatalf("Classify: %v", err)
	}
	if req := <-m.requests; !req.Logprobs {
		t.Error("request did not ask for logprobs")
	}
	if len(v.Hits) != 1 || math.Abs(v.Hits[0].Score-0.9) > 1e-9 {
		t.Fatalf("hits = %+v, want one hit with score 0.9", v.Hits)
	}
	if p := unsafeProbability(&logprobs{Content: []tokenLogprob{{"safe", math.Log(0.75)}}}); math.Abs(p-0.25) > 1e-9 {
		t.Errorf("P(unsafe) after a 0.75 safe = %v, want 0.25", p)
	}
}

func TestCategoryOverrides(t *testing.T) {
	url := serve(t, &fakeModel{answer: "Safety: Controversial\nCategories: Violent, Copyright Violation"})
	g := newGuard(t, Options{
		BaseURL: url, Model: "guard", Format: Qwen3Guard, Controversial: "refuse",
		Categories: map[string]CategoryConfig{
			"Violent":             {Code: "A1d"},
			"Copyright Violation": {Action: "allow"},
		},
	})
	v, err := g.Classify(context.Background(), safety.Input, prompt)
	if err != nil {
		t.Fatalf("Classify: %v", err)
	}
	if got, want := brief(v.Hits), []string{"Violent/A1d/refuse"}; !reflect.DeepEqual(got, want) {
		t.Errorf("hits = %q, want %q", got, want)
	}
}

func TestNewErrors(t *testing.T) {
	ok := Options{BaseURL: "http://127.0.0.1:1/v1", Model: "m"}
	tests := []struct {
		name    string
		edit    func(*Options)
		wantErr string
	}{
		{"no url", func(o *Options) { o.BaseURL = "" }, "required"},
		{"no model", func(o *Options) { o.Model = "" }, "required"},
		{"bad scheme", func(o *Options) { o.BaseURL = "127.0.0.1:8000" }, "want http"},
		{"bad format", func(o *Options) { o.Format = "shieldgemma" }, `format "shieldgemma"`},
		{"unknown category", func(o *Options) { o.Categories = map[string]CategoryConfig{"Violent": {}} }, `unknown llama-guard-3 category "Violent"`},
		{"bad code", func(o *Options) { o.Categories = map[string]CategoryConfig{"S1": {Code: "A6a"}} }, `categories[S1]: "A6a" is not a risk code`},
		{"bad action", func(o *Options) { o.Categories = map[string]CategoryConfig{"S1": {Action: "drop"}} }, "unknown action"},
		{"bad on_error", func(o *Options) { o.Categories = map[string]CategoryConfig{"S1": {OnError: "maybe"}} }, `on_error "maybe"`},
		{"S14 acting without code", func(o *Options) { o.Categories = map[string]CategoryConfig{"S14": {Action: "refuse"}} }, "needs a risk code"},
		{"S14 failing closed without code", func(o *Options) { o.Categories = map[string]CategoryConfig{"S14": {OnError: FailClosed}} }, "needs a risk code"},
		{"bad controversial", func(o *Options) { o.Controversial = "soft" }, "controversial"},
		{"negative timeout", func(o *Options) { o.Timeout = -time.Second }, "negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := ok
			tc.edit(&o)
			_, err := New(o)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("New error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
	if _, err := New(ok); err != nil {
		t.Errorf("New(valid) = %v", err)
	}
}

func TestDefaultCategories(t *testing.T) {
	// The Llama Guard 3 crosswalk of COMPLIANCE.md: primary codes.
	wantLlama := map[string]string{
		"S1": "A1f", "S2": "A1h", "S3": "A1f", "S4": "A1f", "S5": "A4c", "S6": "A5a", "S7": "A4e",
		"S8": "A3a", "S9": "A1d", "S10": "A1e", "S11": "A4a", "S12": "A1f", "S13": "A1g", "S14": "",
	}
	for _, f := range []Format{LlamaGuard3, Qwen3Guard} {
		t.Run(string(f), func(t *testing.T) {
			cats, err := DefaultCategories(f)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, c := range cats {
				if seen[c.Name] {
					t.Errorf("category %q twice", c.Name)
				}
				seen[c.Name] = true
				for _, code := range append([]string{c.Code}, c.Related...) {
					if code != "" && !validCode(code) {
						t.Errorf("%s: %q is not a risk code", c.Name, code)
					}
				}
				if f == LlamaGuard3 && c.Name != Unknown && wantLlama[c.Name] != c.Code {
					t.Errorf("%s → %q, want %q", c.Name, c.Code, wantLlama[c.Name])
				}
			}
			if !seen[Unknown] {
				t.Error("no unknown category")
			}
			if f == LlamaGuard3 && len(cats) != len(wantLlama)+1 {
				t.Errorf("%d categories, want S1–S14 and unknown", len(cats))
			}
			cats[0].Related = append(cats[0].Related[:0], "A4g")
			again, _ := DefaultCategories(f)
			if reflect.DeepEqual(again[0].Related, cats[0].Related) && len(again[0].Related) > 0 {
				t.Error("DefaultCategories shares its table with the caller")
			}
		})
	}
	if _, err := DefaultCategories("x"); err == nil {
		t.Error("DefaultCategories(x) succeeded")
	}
}
