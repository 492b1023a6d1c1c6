package audit

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/firebreak/firebreak/safety"
	"github.com/firebreak/firebreak/store"
)

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("audit trail closed")

// Options configures New.
type Options struct {
	// DB is the store handle. Required.
	DB *store.DB
	// Keys seals flagged content and complaint contacts. Nil: content is
	// never encrypted, only hashed (or not kept).
	Keys *Keyring
	// Retention is the default content policy. Default: clean content
	// hashed; flagged content encrypted when Keys is set, else hashed.
	Retention Retention
	// TenantRetention, if set, returns a tenant's own policy (ok=false: use
	// Retention). Zero fields take Retention's defaults. A tenant asking for
	// ModeEncrypted when Keys is nil gets ModeHash: content is never stored
	// as plaintext. It is called on every Append and must be fast.
	TenantRetention func(tenantID string) (r Retention, ok bool)
	// Signer signs checkpoints and purge anchors. Nil: checkpoints are
	// written unsigned, which proves nothing to a third party.
	Signer ed25519.PrivateKey
	// Publishers receive a copy of every checkpoint and anchor once it is
	// stored (FilePublisher, HTTPPublisher); a failure is logged and does
	// not undo the checkpoint. Default none.
	Publishers []Publisher
	// CheckpointEvery is how often the chain head is checkpointed when it
	// moved. Default 1 minute; negative disables the background job
	// (Checkpoint can still be called).
	CheckpointEvery time.Duration
	// MaxBatch caps the records written in one transaction. Appends that
	// arrive while a transaction commits wait and go together in the next
	// one. Default 256; 1 writes one transaction per record.
	MaxBatch int
	// BatchWait is how long the writer waits for more appends before it
	// writes a batch that is not full, when it found more than one waiting
	// (appends arrive faster than it commits). Default 0: it writes what
	// it found at once.
	BatchWait time.Duration
	// QueueSize caps the appends waiting for the writer; Append blocks
	// (until its context ends) when the queue is full. Default 4096.
	QueueSize int
	// WriteTimeout bounds one batch transaction on PostgreSQL (SQLite's are
	// bounded by its busy timeout; see writeBatch). Default 30s.
	WriteTimeout time.Duration
	// Logger receives background errors. Content is never logged.
	// Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Trail is the audit trail of one database: it appends records to the hash
// chain, checkpoints it, purges it and answers searches and data-subject
// requests. Create it with New and stop it with Close. Safe for concurrent
// use.
type Trail struct {
	db   *store.DB
	opts Options
	log  *slog.Logger

	slots   chan struct{} // one per append queued or being written (QueueSize)
	mu      sync.Mutex
	idle    sync.Cond  // on mu: signalled when the lead ends
	waiting []*pending // appends not yet taken into a batch, oldest first
	leading bool       // an Append is writing batches (group.go)
	closed  bool

	stop     chan struct{} // closed by Close: the checkpoint job exits
	cpDone   chan struct{} // closed when the checkpoint job has exited
	stmts    *statements   // the writer's SQL; the leader only
	head     *chainHead    // the head as this writer last left it; nil: unknown; the leader only
	batches  atomic.Int64  // committed batch transactions
	written  atomic.Int64  // records in them
	lastCkpt int64         // seq of the last checkpoint written; checkpoint job only
}

// New validates opts and starts, unless disabled, the checkpoint job.
func New(opts Options) (*Trail, error) {
	if opts.DB == nil {
		return nil, errors.New("audit: Options.DB is required")
	}
	if opts.MaxBatch < 0 || opts.QueueSize < 0 || opts.WriteTimeout < 0 || opts.BatchWait < 0 {
		return nil, errors.New("audit: negative MaxBatch, BatchWait, QueueSize or WriteTimeout")
	}
	opts = withDefaults(opts)
	if err := opts.Retention.validate(opts.Keys != nil); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	t := &Trail{
		db: opts.DB, opts: opts, log: opts.Logger,
		slots:  make(chan struct{}, opts.QueueSize),
		stop:   make(chan struct{}),
		cpDone: make(chan struct{}),
	}
	t.idle.L = &t.mu
	var err error
	if t.stmts, err = newStatements(opts.DB); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	if opts.CheckpointEvery > 0 {
		t.recover()
		go t.checkpointLoop()
	} else {
		close(t.cpDone)
	}
	return t, nil
}

func withDefaults(o Options) Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.CheckpointEvery == 0 {
		o.CheckpointEvery = time.Minute
	}
	if o.MaxBatch == 0 {
		o.MaxBatch = 256
	}
	if o.QueueSize == 0 {
		o.QueueSize = 4096
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = 30 * time.Second
	}
	o.Retention = o.Retention.withDefaults(o.Keys != nil)
	return o
}

// Append stores rec at the end of the chain and returns once the
// transaction that holds it has committed, so a record whose Append
// returned nil survives a process crash. Concurrent appends share
// transactions (group commit). If ctx ends first Append returns ctx.Err()
// and the record may or may not be written.
func (t *Trail) Append(ctx context.Context, rec Record) error {
	p, err := t.prepare(&rec)
	if err != nil {
		return fmt.Errorf("audit append: %w", err)
	}
	lead, err := t.enqueue(ctx, p)
	switch {
	case err != nil:
		return err
	case lead:
		t.lead(p)
		return (<-p.wake).err
	}
	return t.follow(ctx, p)
}

// prepare validates rec and builds its stored row (sealing content) on the
// caller's goroutine, so only hashing and SQL run on the writer.
func (t *Trail) prepare(rec *Record) (*pending, error) {
	for _, a := range []safety.Action{rec.Input.Action, rec.Output.Action} {
		if a < safety.Allow || a > safety.Block {
			return nil, fmt.Errorf("unknown action %d", int(a))
		}
	}
	if err := t.identify(rec); err != nil {
		return nil, err
	}
	r, err := newRow(rec, t.modeFor(rec), t.opts.Keys)
	if err != nil {
		return nil, err
	}
	return &pending{row: r, canon: r.canonical(), wake: make(chan wakeup, 1)}, nil
}

// identify gives rec its time and id. An id the caller set must be one
// NewID made for the record's time (a zero Time takes the id's): searches
// by time look records up by id.
func (t *Trail) identify(rec *Record) error {
	if rec.ID == "" {
		if rec.Time.IsZero() {
			rec.Time = t.opts.Now()
		}
		rec.ID = NewID(rec.Time)
		return nil
	}
	ms, ok := idMillis(rec.ID)
	switch {
	case !ok:
		return fmt.Errorf("record id %q: not an id from NewID", clean(rec.ID))
	case rec.Time.IsZero():
		rec.Time = time.UnixMilli(ms)
	case rec.Time.UnixMilli() != ms:
		return fmt.Errorf("record id %q does not begin with the record's time", rec.ID)
	}
	return nil
}

// modeFor picks the content mode of rec under its tenant's policy.
func (t *Trail) modeFor(rec *Record) Mode {
	pol := t.opts.Retention
	if t.opts.TenantRetention != nil {
		if tr, ok := t.opts.TenantRetention(rec.TenantID); ok {
			pol = tr.withDefaults(t.opts.Keys != nil)
		}
	}
	mode := pol.Clean
	if rec.Flagged() {
		mode = pol.Flagged
	}
	if rec.Retain {
		mode = ModeEncrypted
	}
	if !mode.valid() {
		mode = ModeHash
	}
	if mode == ModeEncrypted && t.opts.Keys == nil {
		mode = ModeHash
	}
	return mode
}

// Close stops accepting appends, writes what is queued, writes a last
// checkpoint when a signer is configured, and returns.
func (t *Trail) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	for t.leading {
		t.idle.Wait()
	}
	t.mu.Unlock()
	close(t.stop)
	<-t.cpDone
	_ = t.stmts.close()
	if t.opts.Signer == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), t.opts.WriteTimeout)
	defer cancel()
	if _, err := t.Checkpoint(ctx); err != nil {
		return fmt.Errorf("audit close: %w", err)
	}
	return nil
}

// Stats counts what the writer committed since New.
type Stats struct {
	Batches int64 // transactions committed
	Records int64 // records in them
}

// Stats reports the writer's counters; Records/Batches is the mean batch.
func (t *Trail) Stats() Stats {
	return Stats{Batches: t.batches.Load(), Records: t.written.Load()}
}
