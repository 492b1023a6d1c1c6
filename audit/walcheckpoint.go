package audit

import (
	"context"
	"fmt"
	"time"

	"github.com/firebreak/firebreak/store"
)

// sqliteAutoCheckpoint is SQLite's default wal_autocheckpoint, in pages,
// restored when the trail closes.
const sqliteAutoCheckpoint = 1000

// SQLite in WAL mode appends each commit to the write-ahead log; by
// default the commit that takes the log past 1,000 pages then copies the
// log into the database file and syncs both files before it returns, while
// every answer waiting for that batch waits (at 1,000 appends/s that was a
// commit every fifth of a second held up for milliseconds, up to 75 ms on a
// busy disk). The trail, the store's main writer, turns that off on the
// write connection and checkpoints from a read connection in the
// background instead. A PASSIVE checkpoint never blocks the writer and
// loses nothing on a crash: a committed transaction is in the log either
// way, which is what the crash test relies on.

// startWALCheckpoints turns off automatic checkpoints on the store's write
// connection and starts the background job. Nothing happens unless the
// store is SQLite and Options.WALCheckpointEvery is positive.
func (t *Trail) startWALCheckpoints() error {
	if t.db.Dialect() != store.SQLite || t.opts.WALCheckpointEvery <= 0 {
		close(t.walDone)
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := t.db.ExecContext(ctx, `PRAGMA wal_autocheckpoint = 0`); err != nil {
		close(t.walDone)
		return fmt.Errorf("turn off automatic checkpoints: %w", err)
	}
	go t.walCheckpointLoop()
	return nil
}

// walCheckpointLoop checkpoints the log every WALCheckpointEvery until the
// trail stops, then hands checkpointing back to SQLite.
func (t *Trail) walCheckpointLoop() {
	defer close(t.walDone)
	tick := time.NewTicker(t.opts.WALCheckpointEvery)
	defer tick.Stop()
	for {
		select {
		case <-t.stop:
			<-t.exited // the writer's last batches are in the log
			t.walCheckpoint()
			ctx, cancel := context.WithTimeout(context.Background(), t.opts.WriteTimeout)
			defer cancel()
			_, err := t.db.ExecContext(ctx, fmt.Sprintf(`PRAGMA wal_autocheckpoint = %d`, sqliteAutoCheckpoint))
			if err != nil {
				t.log.Error("audit: restore automatic checkpoints failed", "err", err)
			}
			return
		case <-tick.C:
			t.walCheckpoint()
		}
	}
}

// walCheckpoint copies what it can of the log into the database file
// without waiting for readers or the writer.
func (t *Trail) walCheckpoint() {
	ctx, cancel := context.WithTimeout(context.Background(), t.opts.WriteTimeout)
	defer cancel()
	var busy, logPages, done int64
	err := t.db.Read().QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logPages, &done)
	if err != nil {
		t.log.Error("audit: wal checkpoint failed", "err", err)
	}
}
