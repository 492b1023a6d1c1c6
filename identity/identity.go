package identity

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/firebreak/firebreak/internal/idhash"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/internal/ttlcache"
	"github.com/firebreak/firebreak/notify"
	"github.com/firebreak/firebreak/store"
)

// MinSecretLen is the shortest Options.Secret accepted, in bytes.
const MinSecretLen = 32

// UserGetter finds an end user by ID; *account.Users is one. The phone flow
// uses it to check that an end user belongs to the calling tenant.
type UserGetter interface {
	Get(ctx context.Context, id string) (*account.EndUser, error)
}

// Options configures New.
type Options struct {
	// DB is the store handle. Required.
	DB *store.DB
	// Users looks up end users for StartPhone and ConfirmPhone. Required.
	Users UserGetter
	// Secret keys the HMAC-SHA-256 under which phone numbers, ID numbers,
	// credit codes, client IPs and codes are stored. At least MinSecretLen
	// bytes; load it from a file or the environment, never from the
	// database it protects. Changing it orphans every stored hash: users
	// keep their level but their identifiers no longer match. Required.
	Secret []byte
	// Logger receives events and background errors; identifiers appear in
	// it only masked. Default: discard.
	Logger *slog.Logger
	// Requirements says which level each model needs. Default: none.
	Requirements Requirements
	// Phone tunes the built-in phone verification flow.
	Phone PhoneOptions
	// Minors tunes minors' mode.
	Minors MinorOptions
	// Sender delivers phone codes. Default: a LogSender on Logger, which
	// sends nothing and is for development only.
	Sender Sender
	// IDChecker matches a name and ID number against an authoritative
	// source. Default: none, so VerifyIDDocument checks the number's format
	// only and records the method "id_format".
	IDChecker IDChecker
	// Location is the time zone of birthdays, quiet hours and daily limits.
	// Default Asia/Shanghai (UTC+8 if the zone database is missing).
	Location *time.Location
	// CacheTTL bounds how long a cached state is trusted without asking the
	// database: how late a change made on another replica is seen when no
	// notifier calls Invalidate. Default 30s.
	CacheTTL time.Duration
	// CacheSize bounds the number of cached states. Default 100,000.
	CacheSize int
	// PurgeInterval is how often expired counters and codes, and the
	// birthdays of users who have come of age, are deleted. Default 1h.
	PurgeInterval time.Duration
	// Bus carries every change of a verification state to the other
	// replicas (the end-user ID, published on Topic inside the writing
	// transaction) and theirs to this one. Default notify.Discard: one
	// replica, whose others see a change after CacheTTL.
	Bus notify.Bus
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Service verifies end users and answers, on every request, whether they
// may use a model now. Create it with New and stop it with Close.
type Service struct {
	db        *store.DB
	opts      Options
	req       compiledRequirements
	quiet     quietHours
	loadQ     *sql.Stmt
	cache     *ttlcache.Cache[string, *State]
	hash      *idhash.Hasher
	flight    singleflight.Group
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	// unsubscribe stops following the Bus.
	unsubscribe func()
}

// New validates opts, prepares the request-path query and starts the
// background purge.
func New(opts Options) (*Service, error) {
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	devSender := opts.Sender == nil
	opts = withDefaults(opts)
	if devSender {
		opts.Logger.Warn("phone verification codes are not sent: no Sender configured, using the development log sender")
	}
	s := &Service{
		db:    opts.DB,
		opts:  opts,
		hash:  idhash.New(opts.Secret),
		cache: ttlcache.New[string, *State](opts.CacheTTL, opts.CacheSize),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	var err error
	if s.req, err = compileRequirements(opts.Requirements); err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	if s.quiet, err = parseQuietHours(opts.Minors.QuietHours); err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if s.loadQ, err = s.db.Read().PrepareContext(ctx, selectState); err != nil {
		return nil, fmt.Errorf("identity: prepare: %w", err)
	}
	s.unsubscribe = opts.Bus.Subscribe(Topic, s.Invalidate)
	go s.purgeLoop()
	return s, nil
}

func (o *Options) validate() error {
	switch {
	case o.DB == nil:
		return errors.New("Options.DB is required")
	case o.Users == nil:
		return errors.New("Options.Users is required")
	case len(o.Secret) < MinSecretLen:
		return fmt.Errorf("Options.Secret must be at least %d bytes", MinSecretLen)
	case o.CacheTTL < 0, o.CacheSize < 0, o.PurgeInterval < 0:
		return errors.New("negative cache or purge option")
	}
	return o.Phone.validate()
}

func withDefaults(o Options) Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Sender == nil {
		o.Sender = &LogSender{Logger: o.Logger}
	}
	if o.Location == nil {
		o.Location = shanghai()
	}
	if o.CacheTTL == 0 {
		o.CacheTTL = 30 * time.Second
	}
	if o.CacheSize == 0 {
		o.CacheSize = 100_000
	}
	if o.PurgeInterval == 0 {
		o.PurgeInterval = time.Hour
	}
	if o.Bus == nil {
		o.Bus = notify.Discard
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Phone = o.Phone.withDefaults()
	o.Minors = o.Minors.withDefaults()
	return o
}

// shanghai is China Standard Time, which has had no daylight saving since
// 1991, so a fixed zone is exact when the zone database is missing.
func shanghai() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*60*60)
}

// Close stops the background purge and releases the prepared query. It
// does not close the store.
func (s *Service) Close() error {
	s.closeOnce.Do(func() { s.unsubscribe(); close(s.stop) })
	<-s.done
	return s.loadQ.Close()
}

// Invalidate drops the cached state of one end user, or of all of them
// when userID is "". The IDs published on the Bus by any replica arrive
// here.
func (s *Service) Invalidate(userID string) {
	if userID == "" {
		s.cache.Clear()
		return
	}
	s.cache.Delete(userID)
}

// Topic is the Bus topic of identity changes; the payload is the end-user
// ID whose verification state changed.
const Topic = "identity.changed"

// write runs fn in a transaction that also publishes the change of
// userID's state, then drops the state from this replica's cache at once
// (other replicas drop it when the notice reaches them).
func (s *Service) write(ctx context.Context, userID string, fn func(tx *sql.Tx) error) error {
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return s.opts.Bus.PublishTx(ctx, tx, Topic, userID)
	})
	if err == nil {
		s.Invalidate(userID)
	}
	return err
}

// State returns the verification state of the end user with the given ID;
// a user never verified has Level LevelUnverified. It is served from the
// cache when it can be; the returned State is shared: do not modify it.
func (s *Service) State(ctx context.Context, userID string) (*State, error) {
	now := s.opts.Now()
	if st, ok := s.cache.Get(userID, now); ok {
		return st, nil
	}
	v, err, _ := s.flight.Do(userID, func() (any, error) {
		// Detached from one caller's cancellation: others share the result.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		gen := s.cache.Generation()
		st, err := s.load(ctx, userID)
		if err != nil {
			return nil, err
		}
		s.cache.PutIfCurrent(st.UserID, st, gen, now)
		return st, nil
	})
	if err != nil {
		return nil, fmt.Errorf("identity state: %w", err)
	}
	return v.(*State), nil
}

func (s *Service) purgeLoop() {
	defer close(s.done)
	t := time.NewTicker(s.opts.PurgeInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			if err := s.Purge(ctx); err != nil {
				s.opts.Logger.Warn("purge identity data", "err", err)
			}
			cancel()
		}
	}
}
