package target

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/firebreak/firebreak/eval/bank"
)

func TestResponses(t *testing.T) {
	cases := []struct {
		name    string
		status  int
		body    string
		retry   string
		text    string
		refused string
		err     string
	}{
		{"answer", 200, `{"model":"m","choices":[{"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}`, "", "hi", "", ""},
		{"gateway input refusal", 200, `{"choices":[{"message":{"content":"safe reply"},"finish_reason":"content_filter"}],"firebreak":{"input":{"decision":"refuse","code":"A1d","policy_version":"v1"}}}`, "", "safe reply", "input", ""},
		{"gateway output block", 200, `{"choices":[{"message":{"content":"safe"},"finish_reason":"content_filter"}],"firebreak":{"output":{"decision":"block","code":"A1f"}}}`, "", "safe", "output", ""},
		{"masked answer is no refusal", 200, `{"choices":[{"message":{"content":"138****"}}],"firebreak":{"output":{"decision":"mask","code":"A4f"}}}`, "", "138****", "", ""},
		{"null content", 200, `{"choices":[{"message":{"content":null},"finish_reason":"tool_calls"}]}`, "", "", "", ""},
		{"no choices", 200, `{"choices":[]}`, "", "", "", "not a chat completion"},
		{"not json", 200, `<html>`, "", "", "", "not a chat completion"},
		{"rate limited", 429, `{"error":{"code":"rate_limited","message":"slow down"}}`, "7", "", "", "status 429 (rate_limited)"},
		{"forbidden", 403, `{"error":{"code":"user_suspended"}}`, "", "", "", "status 403 (user_suspended)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") != "Bearer k" || r.URL.Path != "/v1/chat/completions" {
					w.WriteHeader(400)
					return
				}
				if c.retry != "" {
					w.Header().Set("Retry-After", c.retry)
				}
				w.WriteHeader(c.status)
				w.Write([]byte(c.body))
			}))
			defer srv.Close()
			cl, err := New(Options{BaseURL: srv.URL + "/v1/", APIKey: "k", Model: "m"})
			if err != nil {
				t.Fatal(err)
			}
			r, err := cl.Chat(context.Background(), []bank.Message{{Role: "user", Content: "q"}}, "u")
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v, want %s", err, c.err)
				}
				var se *StatusError
				if c.status == 429 && (!errors.As(err, &se) || se.RetryAfter != 7*time.Second || !Retryable(err)) {
					t.Errorf("429: %+v retryable %v", se, Retryable(err))
				}
				if c.status == 403 && Retryable(err) {
					t.Error("403 is retryable")
				}
				return
			}
			if err != nil || r.Text != c.text || r.Refused() != c.refused {
				t.Fatalf("%+v %v", r, err)
			}
		})
	}
	if _, err := New(Options{BaseURL: "ftp://x", Model: "m"}); err == nil {
		t.Error("ftp URL accepted")
	}
}

// FuzzParseResponse: any body is an answer or an error, never a panic.
func FuzzParseResponse(f *testing.F) {
	f.Add([]byte(`{"choices":[{"message":{"content":"hi"}}],"firebreak":{"input":{"decision":"refuse"}}}`))
	f.Add([]byte(`{"choices":[{}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseResponse(b)
		if err == nil {
			_ = r.Refused()
		}
	})
}
