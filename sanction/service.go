package sanction

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/firebreak/firebreak/internal/idhash"

	"golang.org/x/sync/singleflight"

	"github.com/firebreak/firebreak/internal/ttlcache"
	"github.com/firebreak/firebreak/store"
)

// Service keeps strikes, sanctions and blacklists. It is safe for
// concurrent use. Create it with New and stop it with Close.
type Service struct {
	opts   Options
	db     *store.DB
	users  *ttlcache.Cache[userKey, *userState]
	flight singleflight.Group
	bl     *blacklist
	hash   *idhash.Hasher

	cancels []func()
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

// New validates opts, loads the blacklist and subscribes to the changes
// replicas publish on the Bus.
func New(ctx context.Context, opts Options) (*Service, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Service{hash: idhash.New(opts.Secret),
		opts:  opts,
		db:    opts.DB,
		users: ttlcache.New[userKey, *userState](opts.CacheTTL, opts.CacheSize),
		bl:    newBlacklist(),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	// Subscribe before loading, so a change committed during the load is
	// applied after it rather than lost.
	s.cancels = append(s.cancels,
		opts.Bus.Subscribe(TopicUser, s.onUser),
		opts.Bus.Subscribe(TopicBlacklist, s.onBlacklist))
	if err := s.reload(ctx); err != nil {
		s.unsubscribe()
		return nil, fmt.Errorf("sanction: %w", err)
	}
	go s.reloadLoop()
	return s, nil
}

// Close stops the background reload and the subscriptions. It does not
// close the store.
func (s *Service) Close() error {
	s.once.Do(func() {
		s.unsubscribe()
		close(s.stop)
		<-s.done
	})
	return nil
}

func (s *Service) unsubscribe() {
	for _, c := range s.cancels {
		c()
	}
}

func (s *Service) reloadLoop() {
	defer close(s.done)
	t := time.NewTicker(s.opts.ReloadInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			if err := s.reload(ctx); err != nil {
				s.opts.Logger.Error("reload blacklist", "err", err)
			}
			cancel()
		}
	}
}

// onUser drops a user's cached standing when another replica changed it.
func (s *Service) onUser(payload string) {
	tenantID, endUserID, ok := strings.Cut(payload, "\n")
	if !ok {
		s.opts.Logger.Warn("bad sanction notice", "topic", TopicUser, "len", len(payload))
		return
	}
	s.users.Delete(userKey{tenantID, endUserID})
}

// writeUser runs fn in a transaction that also publishes the change of
// k's standing, then drops the standing here at once (other replicas drop
// it when the notice reaches them).
func (s *Service) writeUser(ctx context.Context, k userKey, fn func(tx *sql.Tx) error) error {
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return s.opts.Bus.PublishTx(ctx, tx, TopicUser, k.tenantID+"\n"+k.endUserID)
	})
	if err == nil {
		s.users.Delete(k)
	}
	return err
}

// b32 is lowercase base32 without padding, for ids.
var b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newID returns a prefixed random id with 80 bits of entropy.
func newID(prefix string) string {
	b := make([]byte, 10)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return prefix + b32.EncodeToString(b)
}

func fromMs(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// nullMs stores a zero time as NULL.
func nullMs(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}
