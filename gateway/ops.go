package gateway

import (
	"io"
	"net/http"
)

// Healthz answers 200 while the process serves HTTP at all.
func Healthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
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
