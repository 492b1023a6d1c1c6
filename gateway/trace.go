package gateway

import (
	"context"
	"errors"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/firebreak/firebreak/clienterr"
)

// Tracing: with Options.Tracer set, each API request is a trace whose root
// span is the request and whose children are the pipeline's stages
// (authenticate, standing, limits, input review, upstream, output review,
// audit). Attributes name the endpoint, model, route, upstream, outcome and
// status — never prompt or answer text, never a key or an end user. With
// no tracer every helper returns at a nil check: tracing off allocates
// nothing (BenchmarkTracingOff).

// Span names of the pipeline's stages.
const (
	spanAuthenticate = "authenticate"
	spanStanding     = "standing"
	spanLimits       = "limits"
	spanInputReview  = "input review"
	spanUpstream     = "upstream"
	spanOutputReview = "output review"
	spanAudit        = "audit"
)

// startTrace starts the root span of a request when tracing is on.
func (g *Gateway) startTrace(ctx context.Context, c *call) {
	if g.tracer == nil {
		return
	}
	c.trace, c.root = g.tracer.Start(ctx, c.endpoint, trace.WithSpanKind(trace.SpanKindServer))
	c.root.SetAttributes(attribute.String("firebreak.request_id", c.id))
}

// endTrace ends the root span with what the request came to.
func (c *call) endTrace(status int) {
	if c.root == nil {
		return
	}
	c.root.SetAttributes(
		attribute.Int("http.response.status_code", status),
		attribute.String("firebreak.outcome", c.outcome),
		attribute.String("firebreak.model", c.model),
		attribute.String("firebreak.route", c.route),
		attribute.String("firebreak.upstream", c.upstream),
		attribute.Bool("firebreak.stream", c.stream),
		attribute.String("firebreak.policy", c.policy),
	)
	if status >= 500 {
		c.root.SetStatus(codes.Error, strconv.Itoa(status))
	}
	c.root.End()
}

// stage starts the span of one pipeline stage under the request's root
// span; nil when tracing is off. End it with endStage.
func (g *Gateway) stage(c *call, name string) trace.Span {
	if c.root == nil {
		return nil
	}
	_, s := g.tracer.Start(c.trace, name)
	return s
}

// endStage ends a stage's span; an error marks it failed with the
// client-safe error code only.
func endStage(s trace.Span, err error) {
	if s == nil {
		return
	}
	if err != nil {
		code := "error"
		var ce *clienterr.Error
		if errors.As(err, &ce) {
			code = string(ce.Code)
		}
		s.SetStatus(codes.Error, code)
	}
	s.End()
}
