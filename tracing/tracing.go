// Package tracing exports OpenTelemetry traces of the request pipeline
// over OTLP/HTTP. It builds a tracer provider (the OpenTelemetry SDK, a
// batch span processor, parent-based ratio sampling) around its own small
// OTLP/HTTP exporter, which encodes the export request in protobuf with
// the OTLP message types: the OpenTelemetry HTTP exporter module would
// bring gRPC into the binary, this one does not. With no endpoint
// configured nothing is built and the gateway's tracer is nil: tracing
// off costs a nil check per stage.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Options configure New.
type Options struct {
	// Endpoint is the full OTLP/HTTP traces URL, e.g.
	// http://127.0.0.1:4318/v1/traces. Required.
	Endpoint string
	// Headers are sent with every export (a collector's credentials).
	// Default none.
	Headers map[string]string
	// ServiceName names the service in the traces' resource. Default
	// "firebreak".
	ServiceName string
	// SampleRatio is the share of requests traced, in (0, 1]. Default 1.
	// Every request starts a trace of its own: a client's traceparent
	// header is not followed, so clients cannot choose what is sampled.
	SampleRatio float64
	// BatchTimeout is the longest a finished span waits before it is
	// exported. Default 5s.
	BatchTimeout time.Duration
	// Timeout bounds one export call. Default 10s.
	Timeout time.Duration
}

// Provider is a running tracer provider.
type Provider struct {
	sdk *sdktrace.TracerProvider
}

// New validates opts and starts a tracer provider that exports to
// opts.Endpoint.
func New(opts Options) (*Provider, error) {
	u, err := url.Parse(opts.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("tracing: endpoint %q: want an http(s) URL such as http://collector:4318/v1/traces", opts.Endpoint)
	}
	if opts.SampleRatio < 0 || opts.SampleRatio > 1 {
		return nil, errors.New("tracing: sample_ratio must be between 0 and 1")
	}
	if opts.SampleRatio == 0 {
		opts.SampleRatio = 1
	}
	if opts.ServiceName == "" {
		opts.ServiceName = "firebreak"
	}
	if opts.BatchTimeout <= 0 {
		opts.BatchTimeout = 5 * time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	exp := &exporter{url: u.String(), headers: opts.Headers, client: &http.Client{Timeout: opts.Timeout}}
	res := resource.NewSchemaless(attribute.String("service.name", opts.ServiceName))
	sdk := sdktrace.NewTracerProvider(
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(opts.SampleRatio))),
		sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(opts.BatchTimeout), sdktrace.WithExportTimeout(opts.Timeout)),
	)
	return &Provider{sdk: sdk}, nil
}

// Tracer returns the tracer the gateway starts its spans with.
func (p *Provider) Tracer() trace.Tracer {
	return p.sdk.Tracer("github.com/firebreak/firebreak/gateway")
}

// Shutdown exports what is buffered and stops the provider.
func (p *Provider) Shutdown(ctx context.Context) error {
	return p.sdk.Shutdown(ctx)
}
