package gateway

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Dependency is one part a replica relies on (its database, Redis, the
// guard model), as /readyz and the metrics report it.
type Dependency struct {
	Name  string
	Check func(ctx context.Context) error
	// Effect says what requests get while the dependency is down, as the
	// configuration decides: "answers refused: no record, no answer",
	// "limits fail open" …
	Effect string
	// Blocks says that while it is down this replica refuses requests:
	// /readyz answers 503, so a load balancer sends them elsewhere. A
	// dependency that does not block is reported and still answers 200.
	Blocks bool
}

// Health checks a replica's dependencies for /readyz and keeps
// firebreak_dependency_up current.
type Health struct {
	deps []Dependency
	up   *prometheus.GaugeVec
}

// NewHealth registers firebreak_dependency_up for deps on reg.
func NewHealth(reg prometheus.Registerer, deps []Dependency) (*Health, error) {
	h := &Health{deps: deps, up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "firebreak_dependency_up",
		Help: "1 when a dependency (store, redis, guard) answered its last check, 0 when it did not.",
	}, []string{"dependency"})}
	if err := reg.Register(h.up); err != nil {
		return nil, err
	}
	return h, nil
}

// check runs every check at once within two seconds and returns the
// error of each dependency, in order.
func (h *Health) check(ctx context.Context) []error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	errs := make([]error, len(h.deps))
	var wg sync.WaitGroup
	for i, d := range h.deps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = d.Check(ctx)
		}()
	}
	wg.Wait()
	for i, d := range h.deps {
		v := 1.0
		if errs[i] != nil {
			v = 0
		}
		h.up.WithLabelValues(d.Name).Set(v)
	}
	return errs
}

// ServeHTTP answers /readyz: 200 "ready" when nothing that blocks is
// down, 503 "not ready" otherwise; then one line per dependency with its
// state and, when down, what requests get meanwhile. "ready, degraded"
// says a dependency is down that this replica serves without.
func (h *Health) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	errs := h.check(r.Context())
	var lines strings.Builder
	status, blocked, degraded := http.StatusOK, false, false
	for i, d := range h.deps {
		if errs[i] == nil {
			fmt.Fprintf(&lines, "%s: ok\n", d.Name)
			continue
		}
		fmt.Fprintf(&lines, "%s: down (%s)\n", d.Name, d.Effect)
		if d.Blocks {
			blocked = true
		} else {
			degraded = true
		}
	}
	head := "ready\n"
	switch {
	case blocked:
		status, head = http.StatusServiceUnavailable, "not ready\n"
	case degraded:
		head = "ready, degraded\n"
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, head+lines.String())
}

// Run checks the dependencies every interval until ctx ends, so the
// metric follows them whether or not anything asks /readyz.
func (h *Health) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		h.check(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
