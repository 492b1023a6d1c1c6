package identity_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/firebreak/firebreak/identity"
)

// TestWebhookIDChecker reads the operator's answers: a match, a mismatch,
// and answers that are neither (an error status, another body), which
// mean the check could not be made.
func TestWebhookIDChecker(t *testing.T) {
	for _, c := range []struct {
		status int
		body   string
		want   error // nil: a match; ErrIDMismatch; errAny: any other error
	}{
		{200, `{"match":true}`, nil},
		{200, `{"match":false}`, identity.ErrIDMismatch},
		{500, `{"match":true}`, errAny},
		{200, `{"ok":true}`, errAny},
		{200, `yes`, errAny},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(c.status)
			_, _ = w.Write([]byte(c.body))
		}))
		ch, err := identity.NewWebhookIDChecker(identity.WebhookOptions{URL: srv.URL, Secret: []byte("sixteen bytes at least")})
		if err != nil {
			t.Fatal(err)
		}
		err = ch.CheckID(context.Background(), "李四", idFor("19800101"))
		srv.Close()
		switch {
		case c.want == nil && err != nil, c.want == identity.ErrIDMismatch && !errors.Is(err, identity.ErrIDMismatch),
			c.want == errAny && (err == nil || errors.Is(err, identity.ErrIDMismatch)):
			t.Errorf("%d %s: %v", c.status, c.body, err)
		}
	}
	if _, err := identity.NewWebhookIDChecker(identity.WebhookOptions{URL: "ftp://x", Secret: []byte("sixteen bytes at least")}); err == nil {
		t.Error("an ftp URL was accepted")
	}
}

var errAny = errors.New("any error")
