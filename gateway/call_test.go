package gateway

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestRequestID: a well-formed client id is kept; otherwise the gateway
// makes one that is unique and grows with time (so the audit trail's
// index on request ids is written at its end).
func TestRequestID(t *testing.T) {
	req := httptest.NewRequest("POST", "/v1/chat/completions", nil)
	req.Header.Set("X-Request-Id", "client-id_1.2")
	if got := requestID(req); got != "client-id_1.2" {
		t.Errorf("client id replaced by %q", got)
	}
	req.Header.Set("X-Request-Id", "bad id\n")
	seen := map[string]bool{}
	prev := ""
	for i := range 200 {
		if i == 100 {
			time.Sleep(2 * time.Millisecond)
		}
		id := requestID(req)
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
