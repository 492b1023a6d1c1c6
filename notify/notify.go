package notify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/firebreak/firebreak/store"
)

// Limits on what may be published. PostgreSQL caps a notice at 8000 bytes;
// these keep payloads to what they are meant to be: ids and versions.
const (
	MaxTopic   = 64
	MaxPayload = 1024
)

// ErrClosed is returned by Publish and PublishTx after Close.
var ErrClosed = errors.New("notify: closed")

// errNoStore is returned by PublishTx on a NewLocal notifier.
var errNoStore = errors.New("notify: PublishTx needs a notifier opened on a store")

// Options configures Open. The zero value works on both databases.
type Options struct {
	// PollInterval is how often change_log is read for rows that no notice
	// delivered. It bounds how late a change arrives when notices are lost
	// (listener down) or absent (a second process on the same SQLite file).
	// Default 1s.
	PollInterval time.Duration
	// Retention is how long change_log rows are kept. A replica that cannot
	// reach the database for longer may miss changes. Default 24h.
	Retention time.Duration
	// DSN opens the PostgreSQL listening connection. Default "": the
	// store's own DSN. Either way the listener has a connection of its
	// own, outside the store's pool. Unused on SQLite.
	DSN string
	// ReconnectDelay is the first wait after the listening connection
	// fails; each further failure doubles it up to MaxReconnectDelay.
	// Default 100ms.
	ReconnectDelay time.Duration
	// MaxReconnectDelay caps the wait between reconnects. Default 5s, and
	// never less than ReconnectDelay.
	MaxReconnectDelay time.Duration
	// Logger receives listener and polling failures (never payloads).
	// Default: discard.
	Logger *slog.Logger
	// Now is the clock for change_log timestamps and pruning. Default
	// time.Now.
	Now func() time.Time
}

func (o Options) withDefaults() (Options, error) {
	if o.PollInterval < 0 || o.Retention < 0 || o.ReconnectDelay < 0 || o.MaxReconnectDelay < 0 {
		return o, errors.New("notify: negative duration in options")
	}
	if o.PollInterval == 0 {
		o.PollInterval = time.Second
	}
	if o.Retention == 0 {
		o.Retention = 24 * time.Hour
	}
	if o.ReconnectDelay == 0 {
		o.ReconnectDelay = 100 * time.Millisecond
	}
	if o.MaxReconnectDelay == 0 {
		o.MaxReconnectDelay = 5 * time.Second
	}
	o.MaxReconnectDelay = max(o.MaxReconnectDelay, o.ReconnectDelay)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o, nil
}

// Notifier publishes changes and calls the subscribers of this process. It
// is safe for concurrent use. Create it with Open or NewLocal and stop it
// with Close.
type Notifier struct {
	opts Options
	hub  *hub
	log  *changeLog    // nil for NewLocal
	kick chan struct{} // wakes the poller; capacity 1

	mu   sync.Mutex // orders delivery from the poller and the listener
	last int64      // highest change_log seq delivered

	closed      atomic.Bool
	stop        context.CancelFunc
	wg          sync.WaitGroup
	listenerPID atomic.Uint32 // backend pid of the listening connection
}

// NewLocal returns a Notifier that delivers to the subscribers of this
// process only, with no database. PublishTx is not available.
func NewLocal() *Notifier {
	return &Notifier{hub: newHub(), stop: func() {}}
}

// Open returns a Notifier over db's change_log, with a PostgreSQL listener
// when db is PostgreSQL, and starts its background work. It does not close
// db.
func Open(ctx context.Context, db *store.DB, opts Options) (*Notifier, error) {
	if db == nil {
		return nil, errors.New("notify: store is required")
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	cl, err := newChangeLog(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("notify: open: %w", err)
	}
	last, err := cl.maxSeq(ctx)
	if err != nil {
		return nil, fmt.Errorf("notify: open: %w", err)
	}
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	n := &Notifier{opts: opts, hub: newHub(), log: cl, kick: make(chan struct{}, 1), last: last, stop: stop}
	n.wg.Add(1)
	go n.pollLoop(bg)
	if db.Dialect() == store.Postgres {
		n.wg.Add(1)
		go n.listenLoop(bg)
	}
	return n, nil
}

// Publish announces a change on topic. With a store, the change is recorded
// in its own transaction; inside a transaction use PublishTx instead, or
// the call waits for the connection that transaction holds (SQLite).
func (n *Notifier) Publish(ctx context.Context, topic, payload string) error {
	if err := n.check(topic, payload); err != nil {
		return err
	}
	if n.log == nil {
		n.hub.deliver(topic, payload)
		return nil
	}
	err := n.log.db.Tx(ctx, func(tx *sql.Tx) error {
		return n.log.append(ctx, tx, topic, payload, n.opts.Now())
	})
	if err != nil {
		return fmt.Errorf("notify: publish: %w", err)
	}
	n.wake()
	return nil
}

// PublishTx announces a change inside tx, so the notice exists, and is
// delivered, only if tx commits. On PostgreSQL it serialises publishing
// transactions until they end, to keep sequence and commit order the same:
// call it last, just before Commit.
func (n *Notifier) PublishTx(ctx context.Context, tx *sql.Tx, topic, payload string) error {
	if err := n.check(topic, payload); err != nil {
		return err
	}
	if n.log == nil {
		return errNoStore
	}
	if err := n.log.append(ctx, tx, topic, payload, n.opts.Now()); err != nil {
		return fmt.Errorf("notify: publish: %w", err)
	}
	n.wake()
	return nil
}

// Subscribe calls fn with each payload published on topic from now on, by
// this or any other replica. Calls for one subscription never overlap and
// come in commit order; fn should return quickly, as later payloads queue
// behind it. After cancel returns fn is not called again, except that a
// call already running finishes.
func (n *Notifier) Subscribe(topic string, fn func(payload string)) (cancel func()) {
	if fn == nil {
		panic("notify: Subscribe with nil fn")
	}
	return n.hub.subscribe(topic, fn)
}

// Close stops the listener and the poller and waits for them. It does not
// close the store. Subscriptions stay registered but receive nothing more.
func (n *Notifier) Close() error {
	if n.closed.Swap(true) {
		return nil
	}
	n.stop()
	n.wg.Wait()
	return nil
}

func (n *Notifier) check(topic, payload string) error {
	if n.closed.Load() {
		return ErrClosed
	}
	return validate(topic, payload)
}

// validate keeps topics to one token (notices carry "seq topic payload")
// and payloads to short UTF-8 text that PostgreSQL accepts.
func validate(topic, payload string) error {
	if topic == "" || len(topic) > MaxTopic {
		return fmt.Errorf("notify: topic must be 1 to %d bytes", MaxTopic)
	}
	for i := 0; i < len(topic); i++ {
		if !topicByte(topic[i]) {
			return fmt.Errorf("notify: topic %q: only letters, digits and . _ - : / are allowed", topic)
		}
	}
	if len(payload) > MaxPayload {
		return fmt.Errorf("notify: payload of %d bytes exceeds %d", len(payload), MaxPayload)
	}
	if !utf8.ValidString(payload) {
		return errors.New("notify: payload is not valid UTF-8")
	}
	for i := 0; i < len(payload); i++ {
		if payload[i] == 0 {
			return errors.New("notify: payload contains a NUL byte")
		}
	}
	return nil
}

func topicByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '.', '_', '-', ':', '/':
		return true
	}
	return false
}

// wake asks the poller to read change_log now. Only SQLite needs it: there
// no notice exists, and the poller's read waits for the writer connection,
// so it runs after the publishing transaction has ended.
func (n *Notifier) wake() {
	if n.log.dialect != store.SQLite {
		return
	}
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// deliver hands one change_log row to the subscribers unless a row at or
// past seq was delivered already.
func (n *Notifier) deliver(seq int64, topic, payload string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if seq <= n.last {
		return
	}
	n.last = seq
	n.hub.deliver(topic, payload)
}

func (n *Notifier) cursor() int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.last
}
