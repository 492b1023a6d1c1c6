// Package limit enforces per-subject request rates, concurrency caps, token
// budgets and lifetime token quotas. The gateway asks it on every request,
// once for the API key and once for the end user, before any model is called.
//
// # Semantics
//
// RPM and TPM use a sliding window of 60 one-second buckets (plus the current
// second). A request, or a token, counts against its subject for between 60
// and 61 seconds after it happened. In any 60-second span a subject therefore
// never gets more than RPM requests admitted, with no burst at the edge of a
// fixed window; the price is that a refused client may wait up to one second
// longer than a per-request log would make it wait. Refused requests do not
// count.
//
// TPM is counted after the fact: Ticket.Done records the tokens a request
// used, and a subject whose window already holds TPM tokens or more is
// refused until enough old buckets leave the window.
//
// Every refusal is an *clienterr.Error: 429 rate_limit_exceeded with a
// Retry-After of at least one second (for RPM and TPM the moment the window
// has room; for concurrency one second, as slots usually free when a
// request ends), or 429 insufficient_quota without Retry-After, since no
// retry succeeds until the quota is raised.
//
// Concurrency slots are leases: each carries an expiry (Options.SlotTTL) so a
// ticket that is never Done, or a replica that crashed, frees its slot by
// itself. The gateway still calls Done in a defer.
//
// The token quota is a lifetime total kept in memory per subject, loaded from
// a QuotaStore on first sight and flushed to it every FlushEvery and on
// Close. See Options.Quota for the worst-case overshoot.
//
// # Backends
//
// Without Redis all state is in process memory (sharded maps; idle subjects
// are evicted). With Redis, RPM, TPM and concurrency are exact across
// replicas: each Acquire is one atomic Lua script (EVALSHA), one round trip
// for all subjects of the call. Replicas pass their own clock to the scripts,
// so their clocks must be synchronised (NTP); a skew of d shifts window
// edges by d.
package limit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Limits are the limits of one subject. Zero means unlimited.
type Limits struct {
	RPM        int   // requests per minute
	Concurrent int   // requests in flight at once
	TPM        int   // tokens per minute, counted when the request is Done
	TokenQuota int64 // tokens over the subject's lifetime
}

func (l Limits) validate() error {
	if l.RPM < 0 || l.Concurrent < 0 || l.TPM < 0 || l.TokenQuota < 0 {
		return errors.New("negative limit")
	}
	return nil
}

// windowed reports whether l needs the window/slot backend at all.
func (l Limits) windowed() bool { return l.RPM > 0 || l.TPM > 0 || l.Concurrent > 0 }

// Subject is one party a request is charged to.
type Subject struct {
	// Name identifies the subject across replicas, e.g. "key:123" or
	// "user:42". It is stored in Redis keys, so it must be an ID, never a
	// secret. Names of one call should be distinct.
	Name   string
	Limits Limits
	// Label is how refusal messages call the subject ("key", "user").
	// Default "client". The Name never appears in a message.
	Label string
}

// QuotaStore persists lifetime token usage. The accounts package implements
// it on the database.
type QuotaStore interface {
	Usage(ctx context.Context, subject string) (int64, error)
	AddUsage(ctx context.Context, subject string, tokens int64) error
}

// Kind names a limit, for refusals and metrics.
type Kind uint8

const (
	KindRPM Kind = iota + 1
	KindConcurrent
	KindTPM
	KindQuota
)

func (k Kind) String() string {
	switch k {
	case KindRPM:
		return "rpm"
	case KindConcurrent:
		return "concurrent"
	case KindTPM:
		return "tpm"
	case KindQuota:
		return "quota"
	}
	return "unknown"
}

// Options configure a Limiter. The zero value is a working in-memory limiter.
type Options struct {
	// Redis, when set, holds RPM and TPM windows and concurrency slots, so
	// they are exact across replicas. Default nil: process memory.
	Redis redis.UniversalClient
	// KeyPrefix starts every Redis key. Default "firebreak:limit:".
	KeyPrefix string
	// FailClosed refuses requests with 503 when Redis or the QuotaStore
	// cannot be reached. Default false: fail open, the request is admitted
	// without the limits that backend enforces, and the failure is logged
	// at most once per LogEvery and reported to OnBackendError.
	FailClosed bool
	// Quota, when set, persists lifetime token usage. Default nil: quota
	// counters live in memory only and restart from zero. Worst-case
	// overshoot of TokenQuota: the tokens of requests already admitted when
	// the quota is reached (at most Concurrent requests per replica), plus,
	// with R replicas, what the other R-1 replicas record in one FlushEvery
	// (each refreshes its view of the total after each flush). A crash loses
	// at most one FlushEvery of unflushed usage.
	Quota QuotaStore
	// FlushEvery is how often quota deltas are written to Quota and idle
	// subjects are considered for eviction. Default 2s.
	FlushEvery time.Duration
	// SlotTTL is how long a concurrency slot is held at most when its ticket
	// is never Done; keep it above the longest request. Default 15m.
	SlotTTL time.Duration
	// IdleAfter is how long a subject must be unused before its in-memory
	// state is evicted. Default 2m (longer than the 61 s window).
	IdleAfter time.Duration
	// Timeout bounds each Redis call; a call that takes longer counts as a
	// backend failure. Default 2s.
	Timeout time.Duration
	// Backoff is how long requests skip Redis after a failed call, each
	// answered at once as FailClosed says, instead of each waiting for the
	// connection to fail again. Default 1s.
	Backoff time.Duration
	// LogEvery is the least interval between two logs of backend failures.
	// Default 10s.
	LogEvery time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives backend failures. Default: discard.
	Logger *slog.Logger
	// OnRefuse is called once per refused Acquire with the limit that
	// refused it (for metrics). Optional; must be fast.
	OnRefuse func(Kind)
	// OnBackendError is called for every failed Redis or QuotaStore call.
	// Optional; must be fast.
	OnBackendError func(error)
}

// Limiter checks and records limits. It is safe for concurrent use.
type Limiter struct {
	opts    Options
	subj    subjects
	redis   *redisBackend
	slotSeq atomic.Uint64
	lastLog atomic.Int64 // unix nanos of the last backend-failure log
	downTil atomic.Int64 // unix nanos until which Redis is not tried

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// New validates opts and starts the background flusher; call Close to stop
// it and flush quota usage.
func New(opts Options) (*Limiter, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, fmt.Errorf("limit options: %w", err)
	}
	l := &Limiter{opts: opts, stop: make(chan struct{}), done: make(chan struct{})}
	l.subj.init()
	if opts.Redis != nil {
		var id [8]byte
		if _, err := rand.Read(id[:]); err != nil {
			return nil, fmt.Errorf("limit replica id: %w", err)
		}
		l.redis = newRedisBackend(opts.Redis, opts.KeyPrefix, hex.EncodeToString(id[:]))
	}
	go l.loop()
	return l, nil
}

func (o *Options) setDefaults() error {
	if o.FlushEvery < 0 || o.SlotTTL < 0 || o.IdleAfter < 0 || o.Timeout < 0 || o.LogEvery < 0 || o.Backoff < 0 {
		return errors.New("negative duration")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.FlushEvery, 2*time.Second)
	def(&o.SlotTTL, 15*time.Minute)
	def(&o.IdleAfter, 2*time.Minute)
	def(&o.Timeout, 2*time.Second)
	def(&o.LogEvery, 10*time.Second)
	def(&o.Backoff, time.Second)
	if o.IdleAfter < 62*time.Second {
		return errors.New("idle after must exceed the 61s window")
	}
	if o.KeyPrefix == "" {
		o.KeyPrefix = "firebreak:limit:"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Acquire checks one subject's limits and, if all pass, takes a request
// from its window and a concurrency slot. A refusal is an *clienterr.Error.
func (l *Limiter) Acquire(ctx context.Context, subject string, lim Limits) (*Ticket, error) {
	s := [1]Subject{{Name: subject, Limits: lim}}
	return l.AcquireAll(ctx, s[:])
}

// Close stops the background flusher and flushes quota usage with ctx.
// Tickets may still be Done afterwards; their usage is then only flushed by
// another call to Flush.
func (l *Limiter) Close(ctx context.Context) error {
	l.closeOnce.Do(func() { close(l.stop) })
	<-l.done
	return l.Flush(ctx)
}

func (l *Limiter) loop() {
	defer close(l.done)
	tick := time.NewTicker(l.opts.FlushEvery)
	defer tick.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-tick.C:
			ctx, cancel := context.WithTimeout(context.Background(), l.opts.FlushEvery)
			if err := l.Flush(ctx); err != nil {
				l.logBackend("flush quota usage", err)
			}
			cancel()
			l.subj.sweep(l.opts.Now().Add(-l.opts.IdleAfter))
		}
	}
}

// backendFailed reports err to the hook, logs it at most once per LogEvery,
// and returns the refusal to use when failing closed (nil when open).
func (l *Limiter) backendFailed(what string, err error) error {
	if l.opts.OnBackendError != nil {
		l.opts.OnBackendError(err)
	}
	l.logBackend(what, err)
	if !l.opts.FailClosed {
		return nil
	}
	return unavailable(err)
}

func (l *Limiter) logBackend(what string, err error) {
	now := time.Now().UnixNano()
	last := l.lastLog.Load()
	if now-last < int64(l.opts.LogEvery) || !l.lastLog.CompareAndSwap(last, now) {
		return
	}
	l.opts.Logger.Warn("limit backend failed", "op", what, "err", err, "fail_closed", l.opts.FailClosed)
}

// Ping checks the backend the limits depend on: Redis, when set (nil
// otherwise: in-memory limits cannot be down).
func (l *Limiter) Ping(ctx context.Context) error {
	if l.redis == nil {
		return nil
	}
	return l.redis.c.Ping(ctx).Err()
}
