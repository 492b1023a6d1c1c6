package audit

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// DefaultKeep is how long RunRetention keeps records by default: the six
// months the Cybersecurity Law asks network logs to be kept.
const DefaultKeep = 180 * 24 * time.Hour

// purgeChunk caps the records one purge transaction deletes.
const purgeChunk = 10_000

// Purge deletes the oldest records, from the start of the chain up to the
// first record whose time is not before olderThan, and returns how many it
// deleted. Each transaction deletes up to 10,000 records and, in the same
// transaction, writes a signed anchor naming the last deleted record's seq
// and hash (replacing the previous anchor), so Verify starts the remaining
// chain from the anchor; the deleted records leave the hourly counters in
// the same transaction. Checkpoints are kept: they hold no personal data.
func (t *Trail) Purge(ctx context.Context, olderThan time.Time) (int64, error) {
	var total int64
	for {
		n, more, err := t.purgeChunk(ctx, olderThan.UnixMilli())
		total += n
		if err != nil {
			return total, fmt.Errorf("audit purge: %w", err)
		}
		if !more {
			return total, nil
		}
	}
}

// purgeChunk purges one chunk; more says whether another may follow.
func (t *Trail) purgeChunk(ctx context.Context, cutoffMs int64) (n int64, more bool, err error) {
	var anchor *Checkpoint
	defer func() {
		if err == nil && anchor != nil {
			t.publish(ctx, *anchor)
		}
	}()
	err = t.db.Tx(ctx, func(tx *sql.Tx) error {
		n, more, anchor = 0, false, nil
		var from int64
		err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM audit_checkpoints WHERE kind = $1`,
			KindAnchor).Scan(&from)
		if err != nil {
			return fmt.Errorf("read anchor: %w", err)
		}
		last, hash, full, err := purgePrefix(ctx, tx, from, cutoffMs)
		if err != nil || last == 0 {
			return err
		}
		a := Checkpoint{Kind: KindAnchor, Seq: last, Hash: hash, Time: t.opts.Now().UTC().Truncate(time.Millisecond)}
		a.sign(t.opts.Signer)
		if err := insertCheckpoint(ctx, tx, a); err != nil {
			return err
		}
		anchor = &a
		if _, err := tx.ExecContext(ctx, `DELETE FROM audit_checkpoints WHERE kind = $1 AND seq < $2`, KindAnchor, last); err != nil {
			return fmt.Errorf("drop old anchors: %w", err)
		}
		if err := uncount(ctx, tx, from, last); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM audit_records WHERE seq <= $1`, last)
		if err != nil {
			return fmt.Errorf("delete records: %w", err)
		}
		n, _ = res.RowsAffected()
		more = full
		return nil
	})
	return n, more, err
}

// purgePrefix finds, among the next chunk of records after seq from, the
// last one of the leading run older than cutoffMs. last is 0 when the first
// record is not old enough; full says the whole chunk was old.
func purgePrefix(ctx context.Context, tx *sql.Tx, from, cutoffMs int64) (last int64, hash string, full bool, err error) {
	rows, err := tx.QueryContext(ctx, `SELECT seq, hash, time_ms FROM audit_records
		WHERE seq > $1 ORDER BY seq LIMIT $2`, from, purgeChunk)
	if err != nil {
		return 0, "", false, fmt.Errorf("read oldest records: %w", err)
	}
	defer rows.Close()
	count := 0
	for rows.Next() {
		var seq, ms int64
		var h string
		if err := rows.Scan(&seq, &h, &ms); err != nil {
			return 0, "", false, fmt.Errorf("read oldest records: %w", err)
		}
		if ms >= cutoffMs {
			return last, hash, false, rows.Err()
		}
		last, hash = seq, h
		count++
	}
	return last, hash, count == purgeChunk, rows.Err()
}

// RunRetention purges records older than keep (default DefaultKeep) now and
// then every interval (default 1 hour), until ctx ends. Failures are logged
// and retried at the next tick.
func (t *Trail) RunRetention(ctx context.Context, every, keep time.Duration) {
	if every <= 0 {
		every = time.Hour
	}
	if keep <= 0 {
		keep = DefaultKeep
	}
	if keep < DefaultKeep {
		t.log.Warn("audit retention shorter than six months", "keep", keep.String())
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		n, err := t.Purge(ctx, t.opts.Now().Add(-keep))
		switch {
		case err != nil && ctx.Err() == nil:
			t.log.Error("audit purge failed", "purged", n, "err", err)
		case n > 0:
			t.log.Info("audit records purged", "purged", n, "keep", keep.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
