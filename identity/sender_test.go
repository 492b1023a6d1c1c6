package identity_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firebreak/firebreak/identity"
)

// smsService is the operator's SMS service: it checks signatures and keeps
// what it received.
type smsService struct {
	secret []byte
	status int
	stall  bool

	mu   sync.Mutex
	got  []map[string]any
	sigs []bool
}

func (s *smsService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body) // the request context ends on disconnect only once the body is read
	if s.stall {
		select {
		case <-r.Context().Done(): // the sender's timeout ends this
		case <-time.After(10 * time.Second):
		}
		return
	}
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	ts, _ := m["sent_at"].(float64)
	ok := r.Header.Get(identity.SignatureHeader) == identity.Sign(s.secret, int64(ts), body)
	s.mu.Lock()
	s.got, s.sigs = append(s.got, m), append(s.sigs, ok)
	s.mu.Unlock()
	w.WriteHeader(s.status)
}

func TestWebhookSender(t *testing.T) {
	secret := []byte("webhook-secret-0123456789")
	tests := []struct {
		name    string
		status  int
		stall   bool
		wantErr string
	}{
		{"accepted", http.StatusAccepted, false, ""},
		{"server error", http.StatusInternalServerError, false, "status 500"},
		{"redirect not followed", http.StatusFound, false, "status 302"},
		{"stalled server times out", 0, true, "deadline exceeded"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := &smsService{secret: secret, status: tc.status, stall: tc.stall}
			ts := httptest.NewServer(srv)
			t.Cleanup(ts.Close)
			ws, err := identity.NewWebhookSender(identity.WebhookOptions{URL: ts.URL, Secret: secret,
				Timeout: 200 * time.Millisecond, Now: func() time.Time { return time.Unix(1_700_000_000, 0) }})
			if err != nil {
				t.Fatal(err)
			}
			err = ws.Send(context.Background(), "13812345678", "验证码 123456")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Send = %v, want error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			srv.mu.Lock()
			defer srv.mu.Unlock()
			if len(srv.got) != 1 || !srv.sigs[0] {
				t.Fatalf("received %v, signature ok %v", srv.got, srv.sigs)
			}
			m := srv.got[0]
			if m["phone"] != "13812345678" || m["message"] != "验证码 123456" || m["sent_at"] != float64(1_700_000_000) {
				t.Fatalf("body = %v", m)
			}
		})
	}
}

func TestWebhookSenderOptions(t *testing.T) {
	tests := []struct {
		name string
		opts identity.WebhookOptions
	}{
		{"no url", identity.WebhookOptions{Secret: make([]byte, 16)}},
		{"relative url", identity.WebhookOptions{URL: "/sms", Secret: make([]byte, 16)}},
		{"ftp url", identity.WebhookOptions{URL: "ftp://127.0.0.1/", Secret: make([]byte, 16)}},
		{"short secret", identity.WebhookOptions{URL: "http://127.0.0.1/", Secret: make([]byte, 15)}},
		{"negative timeout", identity.WebhookOptions{URL: "http://127.0.0.1/", Secret: make([]byte, 16), Timeout: -1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := identity.NewWebhookSender(tc.opts); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestSignatureChangesWithBody(t *testing.T) {
	a := identity.Sign([]byte("k"), 1, []byte(`{"a":1}`))
	b := identity.Sign([]byte("k"), 1, []byte(`{"a":2}`))
	c := identity.Sign([]byte("k"), 2, []byte(`{"a":1}`))
	if a == b || a == c || !strings.HasPrefix(a, "t=1,v1=") {
		t.Fatalf("signatures %q %q %q", a, b, c)
	}
}

func TestLogSender(t *testing.T) {
	tests := []struct {
		name     string
		level    slog.Level
		wantCode bool
	}{
		{"info hides the code", slog.LevelInfo, false},
		{"debug shows the code", slog.LevelDebug, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			l := &identity.LogSender{Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: tc.level}))}
			if err := l.Send(context.Background(), "13812345678", "验证码 654321"); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			if strings.Contains(out, "13812345678") || !strings.Contains(out, "138****5678") {
				t.Fatalf("log shows the number or not its mask: %s", out)
			}
			if strings.Contains(out, "654321") != tc.wantCode {
				t.Fatalf("code in log = %v, want %v: %s", !tc.wantCode, tc.wantCode, out)
			}
		})
	}
}
