package replica

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/firebreak/firebreak/gateway"
	"github.com/firebreak/firebreak/store"
)

// openHealth lists what this replica depends on, with what requests get
// while each is down as the configuration decides, for /readyz and
// firebreak_dependency_up, and checks them every five seconds.
func (r *Replica) openHealth(context.Context) error {
	db := gateway.Dependency{Name: "store", Check: r.DB.PingContext, Blocks: true,
		Effect: "answers refused: no record, no answer"}
	if r.Trail == nil {
		db.Effect = "requests refused"
	}
	deps := []gateway.Dependency{db}
	if r.Config.Redis != "" {
		closed := r.Config.RedisOnError == "closed"
		effect := "limits fail open: requests admitted without rate and concurrency limits"
		if closed {
			effect = "limits fail closed: requests refused with 503"
		}
		deps = append(deps, gateway.Dependency{Name: "redis", Check: r.Limiter.Ping, Blocks: closed, Effect: effect})
	}
	if g, ok := r.Guard.(interface{ FailsClosed() []string }); ok {
		closed := g.FailsClosed()
		effect := "guard model fails open: requests pass on the other checks"
		if len(closed) > 0 {
			effect = "guard model fails closed for " + strings.Join(closed, ", ") + ": every request refused; open for the other categories"
		}
		deps = append(deps, gateway.Dependency{Name: "guard", Check: r.Gateway.GuardCheck, Blocks: len(closed) > 0, Effect: effect})
	}
	deps = append(deps, gateway.Dependency{Name: "upstreams", Check: r.upstreamsCheck,
		Effect: "a target is ejected: its model's requests go to its other targets, or get 503 when none is left"})
	h, err := gateway.NewHealth(r.Registry, deps)
	if err != nil {
		return err
	}
	if err := r.Registry.Register(r.limitErrors); err != nil {
		return err
	}
	if r.DB.Dialect() == store.SQLite && r.DB.WALStats().Limit > 0 {
		if err := r.Registry.Register(walCollector{r.DB}); err != nil {
			return err
		}
	}
	r.Health = h
	go h.Run(r.life, 5*time.Second)
	return nil
}

// walCollector shows SQLite's write-ahead log against its limit
// (wal_limit): the file's size now, the largest the store saw it, and how
// often the log was truncated in the background or, the keeper having
// fallen behind, by a transaction. One look at the store per scrape.
type walCollector struct{ db *store.DB }

var walDescs = struct{ bytes, max, limit, truncations, backstops *prometheus.Desc }{
	prometheus.NewDesc("firebreak_store_wal_bytes", "Size of SQLite's write-ahead log file now.", nil, nil),
	prometheus.NewDesc("firebreak_store_wal_max_bytes", "Largest size of SQLite's write-ahead log file since start (looked at every 2 ms).", nil, nil),
	prometheus.NewDesc("firebreak_store_wal_limit_bytes", "The limit the write-ahead log is kept under (wal_limit).", nil, nil),
	prometheus.NewDesc("firebreak_store_wal_truncations_total", "Times the write-ahead log was checkpointed and cut to zero.", nil, nil),
	prometheus.NewDesc("firebreak_store_wal_backstops_total", "Of those, times a transaction had to do it because the log reached 3/4 of its limit.", nil, nil),
}

func (walCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{walDescs.bytes, walDescs.max, walDescs.limit, walDescs.truncations, walDescs.backstops} {
		ch <- d
	}
}

func (c walCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.db.WALStats()
	ch <- prometheus.MustNewConstMetric(walDescs.bytes, prometheus.GaugeValue, float64(st.FileBytes))
	ch <- prometheus.MustNewConstMetric(walDescs.max, prometheus.GaugeValue, float64(st.MaxFileBytes))
	ch <- prometheus.MustNewConstMetric(walDescs.limit, prometheus.GaugeValue, float64(st.Limit))
	ch <- prometheus.MustNewConstMetric(walDescs.truncations, prometheus.CounterValue, float64(st.Restarts))
	ch <- prometheus.MustNewConstMetric(walDescs.backstops, prometheus.CounterValue, float64(st.Backstops))
}

// errEjected says an upstream target is out of rotation.
var errEjected = errors.New("an upstream target is ejected")

// upstreamsCheck reports an ejected target (after failures, or answers
// slower than its slow_first_byte).
func (r *Replica) upstreamsCheck(context.Context) error {
	for _, h := range r.Catalog.Router().Health() {
		if !h.Healthy {
			return errEjected
		}
	}
	return nil
}

// newLimitErrors counts failed calls to the limits' backend.
func newLimitErrors() prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{
		Name: "firebreak_limit_backend_errors_total",
		Help: "Failed calls to the limits' backend (Redis, the quota store); what requests got is redis_on_error.",
	})
}
