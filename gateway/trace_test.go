package gateway

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// traceRequest does what one chat completion does to its trace: the root
// span, a span per pipeline stage, the end.
func traceRequest(g *Gateway) {
	c := &call{id: "req", endpoint: "chat"}
	g.startTrace(context.Background(), c)
	for _, name := range []string{spanAuthenticate, spanStanding, spanLimits, spanInputReview, spanUpstream, spanOutputReview, spanAudit} {
		endStage(g.stage(c, name), nil)
	}
	c.endTrace(200)
}

// TestTracingOffAllocatesNothing holds the promise that tracing, when not
// configured, costs a request nothing but nil checks.
func TestTracingOffAllocatesNothing(t *testing.T) {
	g := &Gateway{}
	if n := testing.AllocsPerRun(1000, func() { traceRequest(g) }); n != 0 {
		t.Errorf("tracing off: %.0f allocations per request, want none", n)
	}
}

// BenchmarkTracing compares a request's tracing work off and on (an SDK
// tracer that samples everything and exports nowhere).
func BenchmarkTracing(b *testing.B) {
	b.Run("off", func(b *testing.B) {
		g := &Gateway{}
		b.ReportAllocs()
		for b.Loop() {
			traceRequest(g)
		}
	})
	b.Run("on", func(b *testing.B) {
		tp := sdktrace.NewTracerProvider()
		defer tp.Shutdown(context.Background())
		g := &Gateway{tracer: tp.Tracer("bench")}
		b.ReportAllocs()
		for b.Loop() {
			traceRequest(g)
		}
	})
}
