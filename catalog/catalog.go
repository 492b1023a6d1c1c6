// Package catalog keeps what an operator has connected: the model servers
// (upstreams), the public models that map onto them, and the 1+N routing
// rules. Entries come from the config file (read-only at run time) and from
// the admin API (stored in the database). The catalog builds the upstream
// router from both and swaps it atomically; a change is validated by
// building a router before it is stored, so a bad change never replaces a
// working one.
package catalog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/config"
	"github.com/firebreak/firebreak/notify"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/upstream"
	"github.com/firebreak/firebreak/upstream/demo"
)

// Options configure a Catalog. DB is required.
type Options struct {
	DB *store.DB
	// Static entries come from the config file. They cannot be changed or
	// shadowed through the admin API.
	Static Static
	// Observer receives the router's metrics events. Default none.
	Observer upstream.Observer
	// Transport overrides the router's HTTP transport (tests). Default nil.
	Transport http.RoundTripper
	// Logger receives router swaps. Default: discard.
	Logger *slog.Logger
	// Getenv resolves api_key_env references. Default os.Getenv.
	Getenv func(string) string
	// Bus tells the other replicas of a change (published inside the
	// writing transaction), and tells this one of theirs, so every replica
	// rebuilds its router. Default notify.Discard: one node.
	Bus notify.Bus
}

// topic is the notifier topic of catalog changes; the payload is unused.
const topic = "catalog.changed"

// Static is the part of the catalog that the config file defines.
type Static struct {
	Upstreams []config.Upstream
	Models    []config.Model
	Routing   config.Routing
}

// Source says where an entry was defined.
type Source string

const (
	SourceConfig Source = "config" // the config file
	SourceAdmin  Source = "admin"  // the admin API, stored in the database
	SourceDemo   Source = "demo"   // the built-in demo responder
)

// Catalog is safe for concurrent use.
type Catalog struct {
	db     *store.DB
	static Static
	opts   Options
	log    *slog.Logger
	router atomic.Pointer[upstream.Router]
	demo   atomic.Bool
	mu     sync.Mutex // serialises changes and rebuilds

	unsubscribe func()
}

// ErrStatic is returned when the admin API tries to change an entry that
// the config file defines.
var ErrStatic = errors.New("defined in the config file")

// staticError is the conflict of changing what the config file defines.
type staticError struct{ kind, name string }

func (e staticError) Error() string {
	return fmt.Sprintf("%s %q is defined in the config file; change it there", e.kind, e.name)
}
func (staticError) Is(target error) bool       { return target == ErrStatic }
func (staticError) ClientCode() clienterr.Code { return clienterr.Conflict }

// New loads the stored entries and builds the first router.
func New(ctx context.Context, opts Options) (*Catalog, error) {
	if opts.DB == nil {
		return nil, errors.New("catalog: DB is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.Bus == nil {
		opts.Bus = notify.Discard
	}
	c := &Catalog{db: opts.DB, static: opts.Static, opts: opts, log: opts.Logger}
	if err := c.Reload(ctx); err != nil {
		return nil, err
	}
	c.unsubscribe = opts.Bus.Subscribe(topic, func(string) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.Reload(ctx); err != nil {
			c.log.Error("reload catalog after a change on another replica", "err", err)
		}
	})
	return c, nil
}

// Close stops listening for changes and closes the router.
func (c *Catalog) Close() error {
	if c.unsubscribe != nil {
		c.unsubscribe()
	}
	return c.Router().Close()
}

// Router returns the current router. A caller keeps the router it got for
// the whole of one request.
func (c *Catalog) Router() *upstream.Router { return c.router.Load() }

// Demo reports whether the built-in demo responder is serving, because no
// model is configured.
func (c *Catalog) Demo() bool { return c.demo.Load() }

// Reload rebuilds the router from the config file and the database.
func (c *Catalog) Reload(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	stored, err := c.load(ctx)
	if err != nil {
		return err
	}
	r, isDemo, err := c.build(stored)
	if err != nil {
		return err
	}
	c.swap(r, isDemo)
	return nil
}

// entries is the catalog as stored in the database.
type entries struct {
	upstreams []config.Upstream
	models    []config.Model
	routing   *config.Routing
}

// build merges static and stored entries and builds a router. With no
// model at all it serves the demo responder.
func (c *Catalog) build(stored entries) (*upstream.Router, bool, error) {
	ups := append(append([]config.Upstream(nil), c.static.Upstreams...), stored.upstreams...)
	models := append(append([]config.Model(nil), c.static.Models...), stored.models...)
	routing := c.static.Routing
	if stored.routing != nil {
		routing = *stored.routing
	}
	opts := upstream.Options{Observer: c.opts.Observer, Transport: c.opts.Transport, Logger: c.log,
		Routing: toRouting(routing)}
	for _, u := range ups {
		opts.Upstreams = append(opts.Upstreams, c.toUpstream(u))
	}
	for _, m := range models {
		opts.Models = append(opts.Models, toModel(m))
	}
	// Until the operator has a model, the demo responder serves, so the
	// whole path can be tried; upstreams may be added before their models.
	isDemo := len(models) == 0
	if isDemo {
		opts.Upstreams = append(opts.Upstreams, demoUpstream())
		opts.Models = append(opts.Models, demoModel())
		if opts.Routing.General == "" {
			opts.Routing.General = demoModel().Name
		}
	}
	r, err := upstream.New(opts)
	if err != nil {
		return nil, false, err
	}
	return r, isDemo, nil
}

// swap installs r. The old router is closed a while later, when requests
// that still hold it have finished.
func (c *Catalog) swap(r *upstream.Router, isDemo bool) {
	old := c.router.Swap(r)
	c.demo.Store(isDemo)
	if old != nil {
		time.AfterFunc(2*time.Minute, func() { _ = old.Close() })
		c.log.Info("router rebuilt", "models", len(r.Models()), "demo", isDemo)
	}
}

func (c *Catalog) toUpstream(u config.Upstream) upstream.Config {
	key := u.APIKey
	if key == "" && u.APIKeyEnv != "" {
		key = c.opts.Getenv(u.APIKeyEnv)
	}
	headers := u.Headers
	if len(u.HeadersEnv) > 0 {
		headers = maps.Clone(u.Headers)
		if headers == nil {
			headers = map[string]string{}
		}
		for name, env := range u.HeadersEnv {
			headers[name] = c.opts.Getenv(env)
		}
	}
	return upstream.Config{
		Name: u.Name, BaseURL: u.BaseURL, APIKey: key, Weight: u.Weight, MaxConcurrent: u.MaxConcurrent,
		ConnectTimeout: time.Duration(u.ConnectTimeout), FirstByteTimeout: time.Duration(u.FirstByteTimeout),
		IdleTimeout: time.Duration(u.IdleTimeout), Headers: headers,
		SlowFirstByte: time.Duration(u.SlowFirstByte), HedgeAfter: time.Duration(u.HedgeAfter),
	}
}

func toModel(m config.Model) upstream.Model {
	out := upstream.Model{Name: m.Name, Domain: m.Domain, Description: m.Description}
	for _, t := range m.Targets {
		out.Targets = append(out.Targets, upstream.Target{Upstream: t.Upstream, Model: t.Model})
	}
	return out
}

func toRouting(r config.Routing) upstream.Routing {
	out := upstream.Routing{General: r.General}
	for _, d := range r.Domains {
		out.Domains = append(out.Domains, upstream.DomainRule{Domain: d.Domain, Model: d.Model, Keywords: d.Keywords, Patterns: d.Patterns})
	}
	return out
}

func nameErr(kind, name string) error { return staticError{kind, name} }

func demoUpstream() upstream.Config { return demo.Upstream() }
func demoModel() upstream.Model     { return demo.Model() }

func fromUpstream(u upstream.Config) config.Upstream {
	return config.Upstream{Name: u.Name, BaseURL: u.BaseURL, Weight: u.Weight, MaxConcurrent: u.MaxConcurrent}
}

func fromModel(m upstream.Model) config.Model {
	out := config.Model{Name: m.Name, Domain: m.Domain, Description: m.Description}
	for _, t := range m.Targets {
		out.Targets = append(out.Targets, config.Target{Upstream: t.Upstream, Model: t.Model})
	}
	return out
}
