package policy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/label"
	"github.com/firebreak/firebreak/notify"
	"github.com/firebreak/firebreak/safety"
	"github.com/firebreak/firebreak/sanction"
	"github.com/firebreak/firebreak/store"
)

// Topic is the notify topic of policy changes; the payload is the version
// now in force.
const Topic = "policy.active"

// Options configure a Service.
type Options struct {
	// DB stores versions and the version in force. Required.
	DB *store.DB
	// Bus tells the other replicas about a publish or rollback, inside
	// its transaction, and tells this one about theirs. Default
	// notify.Discard: this process only.
	Bus notify.Bus
	// Fallback is enforced while nothing has been published. Default
	// Default().
	Fallback *Bundle
	// Logger receives loads and load failures (versions, never content).
	// Default: discard.
	Logger *slog.Logger
	// Now is the clock of the history. Default time.Now.
	Now func() time.Time
	// LoadTimeout bounds loading a version another replica published.
	// Default 30s.
	LoadTimeout time.Duration
	// Installed, when set, is told (on a goroutine of its own) of every
	// version this replica puts in force and when: the review desk times
	// a fix to its enforcement on every replica. Default nil.
	Installed func(version string, at time.Time)
}

// ErrNoReason is returned by Publish and Rollback without a reason.
var ErrNoReason error = clienterr.New(clienterr.InvalidRequest, "a reason is required")

// Change says who changes the policy and why; both are recorded.
type Change struct {
	Author string `json:"author"` // default "admin"
	Reason string `json:"reason"` // required
}

// Result is the outcome of a publish or rollback.
type Result struct {
	Version  string `json:"version"`
	Previous string `json:"previous"`
	// Changed is false when the version was already in force: nothing
	// was recorded.
	Changed bool   `json:"changed"`
	Event   *Event `json:"event,omitempty"`
}

// Status describes what a replica enforces.
type Status struct {
	Version  string    `json:"version"`
	Seq      int64     `json:"seq"` // event that put it in force; 0 for the fallback
	LoadedAt time.Time `json:"loaded_at"`
	// LastError is the latest failure to load a version, which left the
	// version above in force; "" when the latest load succeeded.
	LastError string `json:"last_error,omitempty"`
}

// Service holds the compiled policy in force, in an immutable snapshot
// swapped atomically, and publishes and rolls back versions.
type Service struct {
	opts    Options
	v       versions
	snap    atomic.Pointer[snapshot]
	mu      sync.Mutex // serialises installs
	lastErr atomic.Pointer[string]
	cancel  func()
	closed  atomic.Bool
}

type snapshot struct {
	c        *Compiled
	seq      int64
	loadedAt time.Time
}

// New loads and compiles the version in force, or the fallback when none
// was published, and subscribes to changes.
func New(ctx context.Context, opts Options) (*Service, error) {
	if opts.DB == nil {
		return nil, errors.New("policy: DB is required")
	}
	if opts.Fallback == nil {
		opts.Fallback = Default()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Bus == nil {
		opts.Bus = notify.Discard
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.LoadTimeout <= 0 {
		opts.LoadTimeout = 30 * time.Second
	}
	s := &Service{opts: opts, v: versions{db: opts.DB}, cancel: func() {}}
	fb, err := CompileBundle(opts.Fallback)
	if err != nil {
		return nil, fmt.Errorf("policy: fallback: %w", err)
	}
	s.snap.Store(&snapshot{c: fb, loadedAt: opts.Now()})
	// Subscribe before loading, so a change committed during the load is
	// not missed; the load and the notice agree through seq.
	s.cancel = opts.Bus.Subscribe(Topic, s.onNotice)
	if err := s.reload(ctx); err != nil {
		s.cancel()
		return nil, err
	}
	return s, nil
}

// Close stops following changes. The engines stay usable.
func (s *Service) Close() error {
	if !s.closed.Swap(true) {
		s.cancel()
	}
	return nil
}

// Engine returns the engine for a request: the tenant's overlay, else the
// route's, else the base, in its minors variant for a minor. A request
// keeps the engine it got whatever is swapped in meanwhile.
func (s *Service) Engine(route, tenant string, minor bool) *safety.Engine {
	return s.snap.Load().c.Engine(route, tenant, minor)
}

// Labels returns the labelling of a request under the version in force,
// picked as Engine picks the engine.
func (s *Service) Labels(route, tenant string, minor bool) *label.Policy {
	return s.snap.Load().c.Labels(route, tenant, minor)
}

// Load returns the base engine in force (the gateway's Engine option).
func (s *Service) Load() *safety.Engine { return s.snap.Load().c.Base() }

// Current returns the compiled policy in force.
func (s *Service) Current() *Compiled { return s.snap.Load().c }

// Strikes returns the strike codes and sanctions ladder in force, so the
// sanctions service follows publishes and rollbacks on every replica.
func (s *Service) Strikes() sanction.Strikes { return s.Current().Strikes() }

var _ sanction.StrikeRules = (*Service)(nil)

// Status reports the version in force and the latest load failure.
func (s *Service) Status() Status {
	sn := s.snap.Load()
	st := Status{Version: sn.c.Version(), Seq: sn.seq, LoadedAt: sn.loadedAt}
	if e := s.lastErr.Load(); e != nil {
		st.LastError = *e
	}
	return st
}

// onNotice follows another replica's publish or rollback. A notice for
// the version in force is ignored; any other makes the replica read the
// version in force from the database, so stale or repeated notices are
// harmless.
func (s *Service) onNotice(version string) {
	if s.closed.Load() || s.snap.Load().c.Version() == version {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.LoadTimeout)
	defer cancel()
	if err := s.reload(ctx); err != nil {
		s.opts.Logger.Error("policy load failed", "version", version, "err", err)
	}
}

// reload installs the version in force in the database if it is newer
// than the one held. A version that fails to compile is not installed.
func (s *Service) reload(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, seq, err := s.v.active(ctx, s.opts.DB)
	if err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	cur := s.snap.Load()
	if id == "" || seq <= cur.seq {
		return nil
	}
	if id == cur.c.Version() { // back to the version held (A → B → A elsewhere)
		s.installLocked(cur.c, seq)
		return nil
	}
	b, err := s.v.bundle(ctx, id)
	if err == nil {
		var c *Compiled
		if c, err = CompileBundle(b); err == nil {
			s.installLocked(c, seq)
			return nil
		}
	}
	msg := fmt.Sprintf("version %s: %v", id, err)
	s.lastErr.Store(&msg)
	s.opts.Logger.Error("policy version not installed; keeping the one in force", "version", id, "in_force", cur.c.Version(), "err", err)
	return nil
}

func (s *Service) installLocked(c *Compiled, seq int64) {
	if seq <= s.snap.Load().seq {
		return
	}
	now := s.opts.Now()
	s.snap.Store(&snapshot{c: c, seq: seq, loadedAt: now})
	s.lastErr.Store(nil)
	if fn := s.opts.Installed; fn != nil {
		go fn(c.Version(), now)
	}
	s.opts.Logger.Info("policy in force", "version", c.Version(), "seq", seq, "terms", c.Base().Lexicon().Len())
}

// Publish validates and compiles b, stores it with who and why, makes it
// the version in force on every replica and here at once. Publishing the
// version in force changes nothing and says so (Result.Changed false).
// An invalid bundle gives an *InvalidError and changes nothing.
func (s *Service) Publish(ctx context.Context, b *Bundle, ch Change) (Result, error) {
	ch, err := ch.check()
	if err != nil {
		return Result{}, err
	}
	c, err := CompileBundle(b)
	if err != nil {
		return Result{}, err
	}
	return s.activate(ctx, c, KindPublish, ch, "")
}

// Rollback puts a stored version back in force; to "" means the version
// in force before the current one, which before the first publish was the
// fallback bundle.
func (s *Service) Rollback(ctx context.Context, to string, ch Change) (Result, error) {
	ch, err := ch.check()
	if err != nil {
		return Result{}, err
	}
	cur, seq, err := s.v.active(ctx, s.opts.DB)
	if err != nil {
		return Result{}, fmt.Errorf("policy: %w", err)
	}
	if to == "" {
		if to, err = s.v.previous(ctx, seq); err != nil {
			return Result{}, err
		}
	}
	var b *Bundle
	switch {
	case to != "":
		if b, err = s.v.bundle(ctx, to); err != nil {
			return Result{}, err
		}
	case cur == "":
		return Result{}, clienterr.Wrap(clienterr.Conflict, store.ErrNotFound, "nothing has been published: there is no version to roll back to")
	default:
		b = s.opts.Fallback // the first publish replaced the fallback
	}
	c, err := CompileBundle(b)
	if err != nil {
		return Result{}, err
	}
	return s.activate(ctx, c, KindRollback, ch, cur)
}

func (s *Service) activate(ctx context.Context, c *Compiled, kind string, ch Change, expect string) (Result, error) {
	a := activation{compiled: c, kind: kind, change: ch, expect: expect, now: s.opts.Now(),
		publish: func(ctx context.Context, tx *sql.Tx, version string) error {
			return s.opts.Bus.PublishTx(ctx, tx, Topic, version)
		}}
	ev, changed, err := s.v.activate(ctx, a)
	if err != nil {
		return Result{}, err
	}
	if !changed {
		return Result{Version: c.Version(), Previous: c.Version()}, nil
	}
	s.mu.Lock()
	s.installLocked(c, ev.Seq)
	s.mu.Unlock()
	return Result{Version: c.Version(), Previous: ev.Previous, Changed: true, Event: &ev}, nil
}

func (ch Change) check() (Change, error) {
	ch.Author, ch.Reason = strings.TrimSpace(ch.Author), strings.TrimSpace(ch.Reason)
	if ch.Reason == "" {
		return ch, ErrNoReason
	}
	if ch.Author == "" {
		ch.Author = "admin"
	}
	return ch, nil
}

// History lists publishes and rollbacks, newest first; limit defaults to
// 50.
func (s *Service) History(ctx context.Context, limit int) ([]Event, error) {
	if limit <= 0 {
		limit = 50
	}
	return s.v.history(ctx, limit)
}

// Bundle returns a stored version's files; "" is the version in force
// (the fallback when nothing was published).
func (s *Service) Bundle(ctx context.Context, id string) (*Bundle, error) {
	if id == "" || id == s.Current().Version() {
		return s.Current().Bundle(), nil
	}
	return s.v.bundle(ctx, id)
}
