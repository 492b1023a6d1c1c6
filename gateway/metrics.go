package gateway

import (
	"strconv"
	"time"

	"github.com/firebreak/firebreak/safety"
	"github.com/firebreak/firebreak/upstream"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the gateway's Prometheus series. Labels are bounded sets
// (endpoints, model names the operator configured, codes), never user data.
type metrics struct {
	requests       *prometheus.CounterVec
	latency        *prometheus.HistogramVec
	inflight       prometheus.Gauge
	limitHits      *prometheus.CounterVec
	decisions      *prometheus.CounterVec
	streamFailures *prometheus.CounterVec
	upstreamTries  *prometheus.CounterVec
	upstreamTime   *prometheus.HistogramVec
	ejections      *prometheus.CounterVec
	auditFailures  prometheus.Counter
	guardFailures  *prometheus.CounterVec
	judgeFailures  prometheus.Counter
	budgetUsed     prometheus.Gauge
	budgetRefusals *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "firebreak_requests_total", Help: "API requests by endpoint, model, status and outcome.",
		}, []string{"endpoint", "model", "status", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "firebreak_request_duration_seconds", Help: "Time from request to the end of the response.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120},
		}, []string{"endpoint", "stream"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "firebreak_requests_in_flight", Help: "API requests being served.",
		}),
		limitHits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "firebreak_limit_hits_total", Help: "Requests refused by a rate limit or quota.",
		}, []string{"code"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "firebreak_review_decisions_total", Help: "Machine review decisions by direction, action and risk code.",
		}, []string{"direction", "action", "code"}),
		streamFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "firebreak_stream_failures_total", Help: "Streams that ended with an error event instead of [DONE].",
		}, []string{"code"}),
		upstreamTries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "firebreak_upstream_attempts_total", Help: "Calls to upstream model servers by result.",
		}, []string{"upstream", "result"}),
		upstreamTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "firebreak_upstream_first_byte_seconds", Help: "Time from calling an upstream to its response headers.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 14),
		}, []string{"upstream"}),
		ejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "firebreak_upstream_ejections_total", Help: "Upstream targets taken out of rotation after repeated failures.",
		}, []string{"upstream"}),
		auditFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "firebreak_audit_failures_total", Help: "Requests whose audit record could not be written (and were failed).",
		}),
	}
	m.guardFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "firebreak_guard_failures_total", Help: "Guard-model calls that failed, by how the request failed (open or closed).",
	}, []string{"mode"})
	m.judgeFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "firebreak_judge_failures_total", Help: "Judge-model calls of the grounded support check that failed; the lexical check's result stood.",
	})
	m.budgetUsed = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "firebreak_answer_budget_bytes", Help: "Memory reserved by answers in flight against the answer budget (http.answer_budget).",
	})
	m.budgetRefusals = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "firebreak_answer_budget_refusals_total", Help: "Requests refused (admit) or answers ended (grow) because the answer budget was full.",
	}, []string{"when"})
	for _, c := range []prometheus.Collector{m.budgetUsed, m.budgetRefusals, m.guardFailures, m.judgeFailures, m.auditFailures, m.requests, m.latency, m.inflight, m.limitHits, m.decisions,
		m.streamFailures, m.upstreamTries, m.upstreamTime, m.ejections} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) observe(c *call, status int, d time.Duration) {
	m.requests.WithLabelValues(c.endpoint, c.model, strconv.Itoa(status), c.outcome).Inc()
	m.latency.WithLabelValues(c.endpoint, strconv.FormatBool(c.stream)).Observe(d.Seconds())
}

func (m *metrics) decision(direction string, d safety.Decision) {
	m.decisions.WithLabelValues(direction, d.Action.String(), d.Code).Inc()
}

// ObserveAttempt records one upstream attempt (upstream.Observer).
func (m *metrics) ObserveAttempt(a upstream.Attempt) {
	m.upstreamTries.WithLabelValues(a.Upstream, string(a.Outcome)).Inc()
	if a.Outcome == upstream.OutcomeOK {
		m.upstreamTime.WithLabelValues(a.Upstream).Observe(a.Latency.Seconds())
	}
}

// ObserveEjection records a target taken out of rotation (upstream.Observer).
func (m *metrics) ObserveEjection(upstreamName, _ string, ejected bool) {
	if ejected {
		m.ejections.WithLabelValues(upstreamName).Inc()
	}
}
