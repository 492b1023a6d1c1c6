package gateway

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/firebreak/firebreak/clienterr"
)

// TestAnswerBudget: a new request waits for room and is refused with a
// 503 gateway_overloaded when none comes; a release lets a waiting request
// in; an answer that would grow past the budget is told to end; the gauge
// follows what is held.
func TestAnswerBudget(t *testing.T) {
	m, err := newMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	b := newAnswerBudget(4*budgetStep, 50*time.Millisecond, m)
	ctx := context.Background()
	first, err := b.admit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !first.grow(4 * budgetStep / answerCost) {
		t.Fatal("an answer within the budget was refused room")
	}
	if first.grow(4*budgetStep/answerCost + 1) {
		t.Fatal("an answer grew past the budget")
	}
	_, err = b.admit(ctx)
	var ce *clienterr.Error
	if !errors.As(err, &ce) || ce.Code != clienterr.Overloaded || ce.RetryAfter <= 0 {
		t.Fatalf("admit with the budget full: %v, want gateway_overloaded with Retry-After", err)
	}
	if got := testutil.ToFloat64(m.budgetRefusals.WithLabelValues("admit")); got != 1 {
		t.Errorf("admit refusals = %v, want 1", got)
	}
	slow := newAnswerBudget(4*budgetStep, time.Minute, m)
	held, _ := slow.admit(ctx)
	held.grow(4 * budgetStep / answerCost)
	admitted := make(chan error, 1)
	go func() {
		g, err := slow.admit(ctx)
		if err == nil {
			g.release()
		}
		admitted <- err
	}()
	held.release()
	if err := <-admitted; err != nil {
		t.Fatalf("a waiting request was not let in after a release: %v", err)
	}
	first.release()
	if got := testutil.ToFloat64(m.budgetUsed); got != 0 {
		t.Errorf("budget gauge %v after every release, want 0", got)
	}
}
