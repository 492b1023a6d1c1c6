package gateway

import (
	"context"
	"io"
	"net/http"
	"time"
)

// Healthz answers 200 while the process serves HTTP at all.
func Healthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})
}

// Readyz answers 200 when every check passes within two seconds, 503
// naming the first failing check otherwise. A load balancer takes a replica
// out of rotation on 503 (its store is down, it is shutting down …).
func Readyz(checks map[string]func(context.Context) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		for name, check := range checks {
			if err := check(ctx); err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = io.WriteString(w, name+": not ready\n")
				return
			}
		}
		_, _ = io.WriteString(w, "ready\n")
	})
}

// readAllLimited reads an upstream body up to limit bytes.
func readAllLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err == nil && int64(len(b)) > limit {
		err = errTooLarge
	}
	return b, err
}

// budgetReader reserves answer budget for what it has read.
type budgetReader struct {
	r io.Reader
	g *answerGrant
	n int64
}

func (b *budgetReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	if !b.g.grow(b.n) {
		return n, errBudgetFull
	}
	return n, err
}
