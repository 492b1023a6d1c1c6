package gateway

import (
	"context"
	"time"

	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/safety"
)

// Recorder keeps the audit record of each request (audit.Trail). Append
// returns once the record is durable.
type Recorder interface {
	Append(ctx context.Context, rec audit.Record) error
}

// auditTimeout bounds how long a response waits for its record.
const auditTimeout = 10 * time.Second

// commit writes the request's audit record, once. The pipeline calls it
// before the last byte of a successful answer leaves, so a client that
// received an answer in full can count on its record; error paths commit
// when the handler returns. A record that cannot be written fails the
// answer: the gateway does not serve what it cannot account for.
func (g *Gateway) commit(ctx context.Context, c *call, status int) error {
	if g.recorder == nil || c.committed || c.principal == nil {
		return nil
	}
	c.committed = true
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditTimeout)
	defer cancel()
	span := g.stage(c, spanAudit)
	err := g.recorder.Append(ctx, c.record(status))
	endStage(span, err)
	if err != nil {
		g.metrics.auditFailures.Inc()
		g.log.Error("audit record not written", "request_id", c.id, "err", err)
		return clienterr.Wrap(clienterr.Unavailable, err, "the request could not be recorded; try again")
	}
	return nil
}

// record builds the audit record of a call.
func (c *call) record(status int) audit.Record {
	r := audit.Record{
		ID: c.recordID, RequestID: c.id, Time: c.start, TenantID: c.principal.Tenant.ID, KeyID: c.principal.Key.ID,
		Model: c.model, Route: c.route, Upstream: c.upstream, Stream: c.stream,
		Input: auditDecision(c.inDecision), Output: auditDecision(c.outDecision),
		PolicyVersion: c.policy, Status: status, Outcome: c.auditOutcome(status),
		Timings: audit.Timings{TotalMs: time.Since(c.start).Milliseconds(), UpstreamFirstByteMs: c.firstByte.Milliseconds()},
		Usage:   audit.Usage{Prompt: c.usage.PromptTokens, Completion: c.usage.CompletionTokens, Total: c.tokens},
		Content: audit.Content{Prompt: c.prompt, Answer: c.answer.String()},
	}
	if c.user != nil {
		r.EndUser = c.user.ID
	}
	if c.label != nil {
		r.Label = c.label.record // nil unless an answer was delivered
	}
	if c.sanction != "" {
		r.Sanctions = []string{c.sanction}
	}
	return r
}

func auditDecision(d safety.Decision) audit.Decision {
	return audit.Decision{Action: d.Action, Code: d.Code, Hits: audit.Hits(d.Hits)}
}

// auditOutcome maps the call's outcome onto the audit vocabulary.
func (c *call) auditOutcome(status int) string {
	switch c.outcome {
	case "", "ok":
		if status >= 400 {
			return audit.OutcomeRejected
		}
		return audit.OutcomeOK
	case "refused", "filtered", "upstream_error", "stream_failed", "client_gone":
		return c.outcome
	case "upstream_status":
		return audit.OutcomeUpstreamError
	}
	return audit.OutcomeRejected // limited, sanctioned, blacklisted, bad input …
}
