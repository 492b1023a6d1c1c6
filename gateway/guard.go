package gateway

import (
	"context"
	"errors"
	"net/http"

	"github.com/firebreak/firebreak/openai"
	"github.com/firebreak/firebreak/safety"
	"github.com/firebreak/firebreak/safety/guard"
)

// GuardModel asks a guard model whether a conversation is safe
// (*guard.Guard). On an error its verdict still says how to fail: open
// (no hits) or closed (refuse hits).
type GuardModel interface {
	Classify(ctx context.Context, dir safety.Direction, msgs []guard.Message) (guard.Verdict, error)
}

// errGuardDown says the guard model's last call failed.
var errGuardDown = errors.New("the guard model's last call failed")

// GuardCheck reports whether the guard model answered its last call, for
// /readyz: a call that failed makes it down until one succeeds.
func (g *Gateway) GuardCheck(context.Context) error {
	if g.guardDown.Load() {
		return errGuardDown
	}
	return nil
}

// guardCheck is a guard model's review of a request's input, running
// beside the upstream call so it adds no latency when the model is the
// slower of the two.
type guardCheck struct {
	done     chan struct{}
	decision safety.Decision
}

// startGuard asks the guard model about the input, in the background.
func (g *Gateway) startGuard(ctx context.Context, c *call, req *openai.ChatRequest, e *safety.Engine) *guardCheck {
	if g.guard == nil {
		return nil
	}
	var msgs []guard.Message
	for _, m := range req.Messages {
		if m.Role == openai.RoleUser || m.Role == openai.RoleAssistant {
			msgs = append(msgs, guard.Message{Role: m.Role, Content: m.Text()})
		}
	}
	latest := req.LatestUserText()
	gc := &guardCheck{done: make(chan struct{})}
	go func() {
		defer close(gc.done)
		v, err := g.guard.Classify(ctx, safety.Input, msgs)
		g.guardDown.Store(err != nil)
		if err != nil {
			g.metrics.guardFailures.WithLabelValues(string(v.Failed)).Inc()
			g.log.Warn("guard model failed", "request_id", c.id, "fail", string(v.Failed), "err", err)
		}
		gc.decision = e.Decide(safety.Input, latest, v.Hits)
	}()
	return gc
}

// guardRefused waits, once, for the guard model's verdict before the first
// byte of an answer is released. When the verdict refuses the input it
// stops the model and answers with the safe reply instead; nothing of the
// model's answer has left by then.
func (rl *relay) guardRefused(ctx context.Context, w http.ResponseWriter) bool {
	if rl.guard == nil || rl.guardWaited {
		return false
	}
	rl.guardWaited = true
	<-rl.guard.done
	d := rl.guard.decision
	if len(d.Hits) == 0 {
		return false
	}
	merge(&rl.c.inDecision, d)
	rl.c.input, rl.c.code = rl.c.inDecision.Action.String(), rl.c.inDecision.Code
	rl.g.metrics.decision("input", d)
	if d.Action < safety.Refuse {
		return false
	}
	rl.cancel()
	rl.c.outcome = "refused"
	warning := rl.g.strike(ctx, rl.c, d)
	rl.g.writeRefusal(w, rl.c, rl.req, d, warning)
	return true
}
