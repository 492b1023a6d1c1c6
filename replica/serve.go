package replica

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/firebreak/firebreak/gateway"
)

// Handler returns the replica's client-facing handler: the OpenAI API
// under /v1/, /healthz, /readyz, /metrics, and the admin API under
// /admin/ and the console under /console/ unless config admin_listen gives
// them an address of their own.
func (r *Replica) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/v1/", r.Gateway)
	mux.Handle("/healthz", gateway.Healthz())
	mux.Handle("/readyz", r.Health)
	mux.Handle("/metrics", promhttp.HandlerFor(r.Registry, promhttp.HandlerOpts{}))
	if r.Config.AdminListen == "" {
		mux.Handle("/admin/", r.Admin)
		mux.Handle("/console/", r.Console)
	}
	return mux
}

// AdminHandler serves the admin API and the console on the admin
// listener, when admin_listen gives them an address of their own.
func (r *Replica) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/admin/", r.Admin)
	mux.Handle("/console/", r.Console)
	return mux
}

// servers returns the HTTP servers: the API and, when it has its own
// address, the admin API.
func (r *Replica) servers() []*http.Server {
	servers := []*http.Server{r.newServer(r.Config.Listen, r.Handler())}
	if r.Config.AdminListen != "" {
		servers = append(servers, r.newServer(r.Config.AdminListen, r.AdminHandler()))
	}
	return servers
}

func (r *Replica) newServer(addr string, h http.Handler) *http.Server {
	c := r.Config.HTTP
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: c.ReadHeaderTimeout,
		ReadTimeout:       c.ReadTimeout,
		IdleTimeout:       c.IdleTimeout,
		// No WriteTimeout: streams may run for minutes. Upstream first-byte
		// and idle timeouts bound how long a response can stall.
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(r.log.Handler(), slog.LevelWarn),
	}
}

// Run listens on the configured addresses (the API, and the admin API when
// it has its own), calls listening with the addresses once every listener
// is open (an error from it closes them and is returned), serves until ctx
// ends, then shuts down gracefully: no new
// connections, and in-flight requests (streams included) get up to
// http.shutdown_timeout to finish. It does not Close the replica.
func (r *Replica) Run(ctx context.Context, listening func(addrs []net.Addr) error) error {
	servers := r.servers()
	var lns []net.Listener
	for _, srv := range servers {
		ln, err := net.Listen("tcp", srv.Addr)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return fmt.Errorf("listen: %w", err)
		}
		lns = append(lns, ln)
	}
	addrs := make([]net.Addr, len(lns))
	for i, ln := range lns {
		addrs[i] = ln.Addr()
	}
	if listening != nil {
		if err := listening(addrs); err != nil {
			for _, l := range lns {
				l.Close()
			}
			return err
		}
	}
	errc := make(chan error, len(servers))
	for i, srv := range servers {
		go func() { errc <- srv.Serve(lns[i]) }()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	grace := r.Config.HTTP.ShutdownTimeout
	r.log.Info("shutting down", "grace", grace.String())
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	var errs []error
	for _, srv := range servers {
		if err := srv.Shutdown(sctx); err != nil {
			errs = append(errs, err, srv.Close())
		}
	}
	return errors.Join(errs...)
}
