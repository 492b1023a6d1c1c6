package gateway

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/openai"
)

// answerCost is what one byte of an answer's content costs the process
// while the gateway holds it: the delivered text kept for the record
// and the label's signature, the growth of that buffer, the sealed
// record content at commit, and the garbage the collector has not yet
// returned. Measured at the content cap (docs/benchmarks.md, "Memory per
// stream"); the budget charges it so that the process's resident memory,
// not only the text, stays under the budget.
const answerCost = 4

// budgetStep is the unit a request reserves in: small enough that short
// answers take little of the budget, large enough that a long stream
// does not lock for every chunk.
const budgetStep = 256 << 10

// errBudgetFull refuses a request while answers in flight hold the whole
// memory budget.
var errBudgetFull = &clienterr.Error{Code: clienterr.Overloaded, RetryAfter: time.Second,
	Message: "the gateway is at its memory budget for answers in flight; try again shortly"}

// answerBudget bounds the memory that answers held for review, labels and
// the audit record take across all requests of the process. A request is
// admitted with one step reserved and reserves more as its answer grows;
// what it holds is released when it ends. A zero limit bounds nothing.
type answerBudget struct {
	limit int64
	wait  time.Duration // how long a new request waits for room

	mu    sync.Mutex
	used  int64
	freed chan struct{} // closed and replaced whenever memory is released
	m     *metrics
}

func newAnswerBudget(limit int64, wait time.Duration, m *metrics) *answerBudget {
	return &answerBudget{limit: limit, wait: wait, freed: make(chan struct{}), m: m}
}

// answerRoom admits a request's answer to the budget, or writes why not.
func (g *Gateway) answerRoom(ctx context.Context, c *call, w http.ResponseWriter) (*answerGrant, bool) {
	grant, err := g.budget.admit(ctx)
	if err != nil {
		c.outcome = "overloaded"
		openai.WriteError(w, err)
		return nil, false
	}
	return grant, true
}

// answerGrant is one request's share of the budget.
type answerGrant struct {
	b    *answerBudget
	held int64
}

// admit reserves a first step for a new request, waiting up to the
// budget's wait for room. It fails with errBudgetFull, or with the
// context's error when the client went away.
func (b *answerBudget) admit(ctx context.Context) (*answerGrant, error) {
	g := &answerGrant{b: b}
	if b.limit <= 0 {
		return g, nil
	}
	// The timer is made only when there is no room at once: most requests
	// find room, and a timer is three allocations each.
	var timer *time.Timer
	for {
		freed, ok := b.take(g)
		if ok {
			return g, nil
		}
		if timer == nil {
			timer = time.NewTimer(b.wait)
			defer timer.Stop() // once: timer is made once
		}
		select {
		case <-freed:
		case <-timer.C:
			b.m.budgetRefusals.WithLabelValues("admit").Inc()
			return nil, errBudgetFull
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// take reserves a first step for g when there is room; otherwise it
// returns the channel closed when memory is next released.
func (b *answerBudget) take(g *answerGrant) (<-chan struct{}, bool) {
	b.mu.Lock()
	if b.used+budgetStep <= b.limit {
		b.used += budgetStep
		g.held = budgetStep
		b.mu.Unlock()
		b.m.budgetUsed.Add(budgetStep)
		return nil, true
	}
	freed := b.freed
	b.mu.Unlock()
	return freed, false
}

// grow makes the grant cover an answer of n content bytes. It never
// waits (two growing answers waiting on each other would never finish):
// false says the budget is full and the answer must end.
func (g *answerGrant) grow(n int64) bool {
	b := g.b
	need := n * answerCost
	if b.limit <= 0 || need <= g.held {
		return true
	}
	add := (need - g.held + budgetStep - 1) / budgetStep * budgetStep
	b.mu.Lock()
	if b.used+add > b.limit {
		b.mu.Unlock()
		b.m.budgetRefusals.WithLabelValues("grow").Inc()
		return false
	}
	b.used += add
	b.mu.Unlock()
	g.held += add
	b.m.budgetUsed.Add(float64(add))
	return true
}

// release returns what the grant holds. Safe on a nil grant.
func (g *answerGrant) release() {
	if g == nil || g.held == 0 {
		return
	}
	b := g.b
	b.mu.Lock()
	b.used -= g.held
	close(b.freed)
	b.freed = make(chan struct{})
	b.mu.Unlock()
	b.m.budgetUsed.Sub(float64(g.held))
	g.held = 0
}
