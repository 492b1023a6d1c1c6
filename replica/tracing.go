package replica

import (
	"context"
	"os"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/firebreak/firebreak/tracing"
)

// openTracer starts the OpenTelemetry exporter when tracing.endpoint is
// set, and returns the gateway's tracer; nil (tracing off) otherwise.
// Closing the replica exports what is still buffered.
func (r *Replica) openTracer() (trace.Tracer, error) {
	c := r.Config.Tracing
	if c.Endpoint == "" {
		return nil, nil
	}
	headers := make(map[string]string, len(c.HeadersEnv))
	for name, env := range c.HeadersEnv {
		headers[name] = os.Getenv(env)
	}
	p, err := tracing.New(tracing.Options{Endpoint: c.Endpoint, Headers: headers, SampleRatio: c.SampleRatio, ServiceName: c.ServiceName})
	if err != nil {
		return nil, err
	}
	r.onClose(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := p.Shutdown(ctx); err != nil {
			r.log.Warn("tracing: last export failed", "err", err)
		}
	})
	return p.Tracer(), nil
}
