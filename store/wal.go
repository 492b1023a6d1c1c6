package store

import (
	"context"
	"database/sql/driver"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// SQLite in WAL mode appends every commit to the write-ahead log and, by
// default, the commit that takes the log past 1,000 pages copies the log
// into the database file and syncs both files before it returns: every
// transaction waiting behind it waits too (up to 75 ms on a busy disk,
// measured under the gateway's load). So the write connection runs with
// wal_autocheckpoint=0 and the store checkpoints in the background.
//
// A background PASSIVE checkpoint never blocks a commit, but alone it does
// not bound the log: SQLite starts the log again from its beginning only
// when a write transaction begins while every frame has been copied and no
// reader still uses the log, which under steady writes and reads hardly
// ever happens (the log grew by about 18 KB per request, without limit,
// until a clean shutdown). walKeeper therefore, each round:
//
//  1. runs a PASSIVE checkpoint from a read connection, which copies most
//     of the log while commits go on;
//  2. once the log has passed half of Options.WALLimit, takes the write
//     connection between two transactions (after the transactions already
//     queued for it: Tx queues on writeMu, first come first served) and
//     runs a TRUNCATE checkpoint there: it copies only what was committed
//     since step 1, waits up to 20 ms for readers to leave the log, and
//     cuts the file to zero, so the next commit starts a new log.
//
// Rounds run every Options.WALCheckpointEvery, and at once when the log
// file, looked at every 2 ms, has passed half the limit. Should the keeper
// fall behind (a write rate it cannot follow, or readers that kept it from
// truncating), the transaction that finds the file at three quarters of
// the limit truncates it first (beforeTx): only then is a checkpoint on a
// commit's path, and WALStats counts it. A reader that keeps one read
// transaction open for long pins the log (SQLite cannot cut it under a
// reader); the keeper retries each round and logs it.

// walFrameHeader and walHeader are the sizes SQLite adds around pages.
const (
	walHeader      = 32
	walFrameHeader = 24
)

// walPoll is how often the keeper looks at the log file's size.
const walPoll = 2 * time.Millisecond

// walRestartBusy bounds how long a TRUNCATE checkpoint, holding the write
// connection, waits for readers to leave the log.
const walRestartBusy = 20 * time.Millisecond

// WALStats counts what the write-ahead log keeper did.
type WALStats struct {
	Checkpoints  int64         // rounds run
	Restarts     int64         // TRUNCATE checkpoints that emptied the log
	Backstops    int64         // of those, run by a transaction because the log was at 3/4 of the limit
	MaxHold      time.Duration // longest time the write connection was held for one
	MaxLogBytes  int64         // the longest log a round found, in bytes
	FileBytes    int64         // the -wal file's size now
	MaxFileBytes int64         // the largest the keeper saw the -wal file, looking every 2 ms
	Limit        int64         // Options.WALLimit
}

type walKeeper struct {
	db       *DB
	path     string // the -wal file
	limit    int64
	every    time.Duration
	pageSize int64
	log      *slog.Logger
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
	ckptMu   sync.Mutex // one checkpoint at a time (lock order: DB.writeMu first)

	rounds, restarts, backstops, maxHold, maxLog, maxFile atomic.Int64
}

// startWALKeeper starts the keeper on an open SQLite handle.
func startWALKeeper(ctx context.Context, db *DB, path string, limit int64, every time.Duration, log *slog.Logger) (*walKeeper, error) {
	k := &walKeeper{db: db, path: path + "-wal", limit: limit, every: every, log: log,
		stop: make(chan struct{}), done: make(chan struct{})}
	if err := db.read.QueryRowContext(ctx, `PRAGMA page_size`).Scan(&k.pageSize); err != nil {
		return nil, fmt.Errorf("read page size: %w", err)
	}
	go k.run()
	return k, nil
}

func (k *walKeeper) run() {
	defer close(k.done)
	tick := time.NewTicker(min(k.every, walPoll))
	defer tick.Stop()
	last := time.Now()
	for {
		select {
		case <-k.stop:
			return
		case <-tick.C:
		}
		// Between rounds, the file's size tells cheaply whether the log
		// grew past half the limit: a truncated log starts an empty file.
		size := k.fileSize()
		if size > k.maxFile.Load() {
			k.maxFile.Store(size)
		}
		if time.Since(last) < k.every && size < k.limit/2 {
			continue
		}
		k.round()
		last = time.Now()
	}
}

func (k *walKeeper) fileSize() int64 {
	fi, err := os.Stat(k.path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// round runs one PASSIVE checkpoint and, when the log is past half the
// limit, a TRUNCATE on the write connection. It returns the log's length in
// bytes as the PASSIVE checkpoint found it (0 after a restart).
func (k *walKeeper) round() int64 {
	k.rounds.Add(1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var busy, frames, copied int64
	k.ckptMu.Lock()
	err := k.db.read.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &copied)
	k.ckptMu.Unlock()
	if err != nil {
		k.log.Error("store: wal checkpoint failed", "err", err)
	}
	n := k.bytes(frames)
	if err != nil || frames < 0 {
		// Another process checkpointed: the file's size is then the best
		// estimate of the log's length.
		n = k.fileSize()
	}
	if n > k.maxLog.Load() {
		k.maxLog.Store(n)
	}
	if n < k.limit/2 {
		return n
	}
	restarted, err := k.restart(ctx)
	switch {
	case err != nil:
		k.log.Error("store: wal restart failed", "err", err)
	case !restarted && n > k.limit:
		k.log.Warn("store: write-ahead log over its limit; a long read holds it", "bytes", n, "limit", k.limit)
	case restarted:
		return 0
	}
	return n
}

func (k *walKeeper) bytes(frames int64) int64 {
	if frames <= 0 {
		return 0
	}
	return walHeader + frames*(k.pageSize+walFrameHeader)
}

// restart takes the write connection between two transactions and
// truncates the log on it; it reports whether it did.
func (k *walKeeper) restart(ctx context.Context) (bool, error) {
	k.db.writeMu.Lock()
	defer k.db.writeMu.Unlock()
	return k.truncate(ctx)
}

// beforeTx runs in Tx, holding writeMu, before the transaction begins.
// When the log has reached three quarters of the limit the keeper has
// fallen behind (a write rate it cannot follow, or readers that kept it
// from restarting the log): the transaction then truncates the log
// itself first, so the log cannot outgrow the limit by more than the
// transaction.
func (k *walKeeper) beforeTx(ctx context.Context) {
	if k.fileSize() < k.limit*3/4 {
		return
	}
	k.backstops.Add(1)
	if ok, err := k.truncate(ctx); err != nil || !ok {
		k.log.Warn("store: write-ahead log near its limit and not truncated; a long read holds it",
			"bytes", k.fileSize(), "limit", k.limit, "err", err)
	}
}

// truncate runs a TRUNCATE checkpoint on the write connection; the caller
// holds writeMu. SQLite answers busy at once, without waiting, while
// another checkpoint runs, so checkpoints in this process take turns on
// ckptMu. It copies what the last PASSIVE checkpoint left, waits
// up to walRestartBusy for readers to leave the log and cuts the file to
// zero, so the file's size is the log's length.
func (k *walKeeper) truncate(ctx context.Context) (bool, error) {
	k.ckptMu.Lock()
	defer k.ckptMu.Unlock()
	conn, err := k.db.DB.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	start := time.Now()
	defer func() {
		if d := int64(time.Since(start)); d > k.maxHold.Load() {
			k.maxHold.Store(d)
		}
	}()
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`PRAGMA busy_timeout = %d`, walRestartBusy.Milliseconds())); err != nil {
		return false, err
	}
	var busy, frames, copied int64
	err = conn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &frames, &copied)
	if _, rerr := conn.ExecContext(ctx, fmt.Sprintf(`PRAGMA busy_timeout = %d`, sqliteBusyTimeout.Milliseconds())); rerr != nil {
		// A connection left with a short timeout would fail writes that
		// should wait: drop it from the pool.
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	if err != nil || busy != 0 {
		return false, err
	}
	k.restarts.Add(1)
	return true, nil
}

// close stops the keeper and waits for a round in progress.
func (k *walKeeper) close() {
	k.stopOnce.Do(func() { close(k.stop) })
	<-k.done
}

func (k *walKeeper) stats() WALStats {
	return WALStats{Checkpoints: k.rounds.Load(), Restarts: k.restarts.Load(), Backstops: k.backstops.Load(),
		MaxHold: time.Duration(k.maxHold.Load()), MaxLogBytes: k.maxLog.Load(),
		FileBytes: k.fileSize(), MaxFileBytes: k.maxFile.Load(), Limit: k.limit}
}

// WALStats reports what the write-ahead log keeper did since Open; zero on
// PostgreSQL or with the keeper off.
func (db *DB) WALStats() WALStats {
	if db.wal == nil {
		return WALStats{}
	}
	return db.wal.stats()
}
