package account

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/notify"
	"github.com/firebreak/firebreak/store"
)

// Limits caps a subject's use of the service. Zero means unlimited. A key
// carries its own limits; a tenant carries the defaults for its end users.
type Limits struct {
	RPM        int   // requests per minute
	Concurrent int   // requests in flight at once
	TPM        int   // tokens per minute
	TokenQuota int64 // tokens over the subject's lifetime
}

func (l Limits) validate() error {
	if l.RPM < 0 || l.Concurrent < 0 || l.TPM < 0 || l.TokenQuota < 0 {
		return invalidf("limits must not be negative")
	}
	return nil
}

// ErrInvalid matches (errors.Is) every error that rejects a caller's
// input, such as a bad tenant name or negative limits, so an API can answer
// 400 with the error's own message.
var ErrInvalid = errors.New("invalid input")

type invalidError struct{ msg string }

func (e invalidError) Error() string        { return e.msg }
func (e invalidError) Is(target error) bool { return target == ErrInvalid }

// ClientCode makes a rejected input a 400 whose message is the error's own.
func (invalidError) ClientCode() clienterr.Code { return clienterr.InvalidRequest }

func invalidf(format string, args ...any) error {
	return invalidError{msg: fmt.Sprintf(format, args...)}
}

// ChangeKind names what a Change is about.
type ChangeKind string

const (
	ChangeTenant ChangeKind = "tenant" // ID is a tenant ID
	ChangeKey    ChangeKind = "key"    // ID is a key ID
	ChangeUser   ChangeKind = "user"   // ID is an end-user ID
	ChangeAdmin  ChangeKind = "admin"  // the admin token was rotated; no ID
)

// Change describes a write that other replicas must drop from their caches.
// The zero Change means "anything may have changed".
type Change struct {
	Kind ChangeKind
	ID   string
}

// Options configures New.
type Options struct {
	// DB is the store handle. Required.
	DB *store.DB
	// Logger receives background errors. Default: discard.
	Logger *slog.Logger
	// CacheTTL bounds how long a cached key, end user or admin token is
	// trusted without asking the database; it is how late a change made on
	// another replica is seen when no notifier is plugged in. Default 30s.
	CacheTTL time.Duration
	// KeyCacheSize bounds the number of cached API keys. Default 10,000.
	KeyCacheSize int
	// UserCacheSize bounds the number of cached end users. Default 100,000.
	UserCacheSize int
	// TouchInterval is how often "last used" and "last seen" times are
	// written; each key or user is written at most once per interval.
	// Default 1 minute.
	TouchInterval time.Duration
	// Bus carries every write that changes a cached entity to the other
	// replicas (published on Topic inside the writing transaction) and
	// theirs to this one. Default notify.Discard: one replica, whose
	// others see a change after CacheTTL.
	Bus notify.Bus
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Service is the account store with its caches. Create it with New and stop
// it with Close.
type Service struct {
	Tenants *Tenants
	Keys    *Keys
	Users   *Users

	db          *store.DB
	opts        Options
	admin       adminCache
	unsubscribe func()
	stop        chan struct{}
	done        chan struct{}
	once        sync.Once
}

// New validates opts and starts the background writer of last-use times.
func New(opts Options) (*Service, error) {
	if opts.DB == nil {
		return nil, errors.New("account: Options.DB is required")
	}
	if opts.CacheTTL < 0 || opts.KeyCacheSize < 0 || opts.UserCacheSize < 0 || opts.TouchInterval < 0 {
		return nil, errors.New("account: negative cache option")
	}
	opts = withDefaults(opts)
	s := &Service{db: opts.DB, opts: opts, stop: make(chan struct{}), done: make(chan struct{})}
	s.Tenants = &Tenants{s: s}
	s.Keys = newKeys(s)
	s.Users = newUsers(s)
	if err := s.prepare(); err != nil {
		return nil, err
	}
	s.unsubscribe = opts.Bus.Subscribe(Topic, func(payload string) { s.Invalidate(parseChange(payload)) })
	go s.flushLoop()
	return s, nil
}

// prepare readies the statements of the request path, which would
// otherwise be parsed again on every cache miss.
func (s *Service) prepare() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var err error
	if s.Keys.authStmt, err = s.db.Read().PrepareContext(ctx, authQuery); err != nil {
		return fmt.Errorf("account: prepare: %w", err)
	}
	if s.Users.selStmt, err = s.db.Read().PrepareContext(ctx, selectUser); err != nil {
		_ = s.Keys.authStmt.Close()
		return fmt.Errorf("account: prepare: %w", err)
	}
	return nil
}

func withDefaults(o Options) Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.CacheTTL == 0 {
		o.CacheTTL = 30 * time.Second
	}
	if o.KeyCacheSize == 0 {
		o.KeyCacheSize = 10_000
	}
	if o.UserCacheSize == 0 {
		o.UserCacheSize = 100_000
	}
	if o.TouchInterval == 0 {
		o.TouchInterval = time.Minute
	}
	if o.Bus == nil {
		o.Bus = notify.Discard
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Close stops the background writer after a last flush of pending
// last-use times. It does not close the store.
func (s *Service) Close() error {
	s.once.Do(func() { s.unsubscribe(); close(s.stop) })
	<-s.done
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return errors.Join(s.flush(ctx), s.Keys.authStmt.Close(), s.Users.selStmt.Close())
}

// Invalidate drops what c names from this replica's caches; the zero
// Change drops everything. Changes published on the Bus by any replica
// arrive here.
func (s *Service) Invalidate(c Change) {
	switch c.Kind {
	case ChangeTenant:
		s.Keys.dropTenant(c.ID)
		s.Users.dropTenant(c.ID)
	case ChangeKey:
		s.Keys.dropKey(c.ID)
	case ChangeUser:
		s.Users.dropUser(c.ID)
	case ChangeAdmin:
		s.admin.clear()
	default:
		s.Keys.cache.Clear()
		s.Users.cache.Clear()
		s.admin.clear()
	}
}

// Topic is the Bus topic of account changes; the payload is "kind:id".
const Topic = "account.changed"

func (c Change) payload() string { return string(c.Kind) + ":" + c.ID }

func parseChange(payload string) Change {
	kind, id, _ := strings.Cut(payload, ":")
	return Change{Kind: ChangeKind(kind), ID: id}
}

// write runs fn in a transaction that also publishes c, then drops what c
// names from this replica's caches at once (other replicas drop it when
// the notice reaches them).
func (s *Service) write(ctx context.Context, c Change, fn func(tx *sql.Tx) error) error {
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return s.opts.Bus.PublishTx(ctx, tx, Topic, c.payload())
	})
	if err == nil {
		s.Invalidate(c)
	}
	return err
}

func (s *Service) flushLoop() {
	defer close(s.done)
	t := time.NewTicker(s.opts.TouchInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := s.flush(ctx); err != nil {
				s.opts.Logger.Warn("write last-use times", "err", err)
			}
			cancel()
		}
	}
}

func (s *Service) flush(ctx context.Context) error {
	return errors.Join(s.Keys.touched.flush(ctx, s.db), s.Users.touched.flush(ctx, s.db))
}

// querier is what both *sql.DB and *sql.Tx offer, so one function can run
// alone or inside a larger transaction.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// notFound maps sql.ErrNoRows to the not-found error of thing, and
// wraps any other error of op.
func notFound(err error, op, thing string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.NotFound(thing)
	}
	return fmt.Errorf("%s: %w", op, err)
}
