package gateway

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestRequestID: the gateway makes every request id, unique and growing
// with time (so the audit trail's index on request ids is written at its
// end); a client's own X-Request-Id, when well formed, is kept apart for
// the log line and never becomes the request's id.
func TestRequestID(t *testing.T) {
	req := httptest.NewRequest("POST", "/v1/chat/completions", nil)
	req.Header.Set("X-Request-Id", "client-id_1.2")
	if got := clientRequestID(req); got != "client-id_1.2" {
		t.Errorf("client id read as %q", got)
	}
	req.Header.Set("X-Request-Id", "bad id\n")
	if got := clientRequestID(req); got != "" {
		t.Errorf("malformed client id kept as %q", got)
	}
	seen := map[string]bool{}
	prev := ""
	for i := range 200 {
		if i == 100 {
			time.Sleep(2 * time.Millisecond)
		}
		id := newRequestID()
		if len(id) != 28 || !strings.HasPrefix(id, "req_") || !isToken(id) || seen[id] {
			t.Fatalf("id %q: malformed or repeated", id)
		}
		seen[id] = true
		if i == 100 && id <= prev {
			t.Fatalf("id %q made later sorts before %q", id, prev)
		}
		prev = id
	}
}
