package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/firebreak/firebreak/store"
)

// chainHead is the chain's last sequence number and hash.
type chainHead struct {
	seq  int64
	hash string
}

// writeBatch appends batch to the chain in one transaction: it moves the
// chain head row past the batch, which locks it (a row lock on
// PostgreSQL; SQLite transactions already hold the database write lock),
// so writers on several replicas extend one chain in one order, then
// inserts the records and adds them to the hourly counters.
//
// On SQLite the transaction runs without a deadline. The SQLite driver
// watches a cancellable context with a goroutine of its own for every
// statement, and BEGIN and COMMIT count as statements; for a batch of one
// record those goroutines cost about a tenth of the append's CPU. A
// deadline would buy nothing there: lock waits are bounded by the busy
// timeout, and an interrupt cannot stop a page write that the disk holds.
func (t *Trail) writeBatch(batch []*pending) error {
	ctx := context.Background()
	if t.db.Dialect() != store.SQLite {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t.opts.WriteTimeout)
		defer cancel()
	}
	var end chainHead
	err := t.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if end, err = t.extend(ctx, tx, batch); err != nil {
			return err
		}
		if err := t.insertRows(ctx, tx, batch); err != nil {
			return err
		}
		return t.count(ctx, tx, batch)
	})
	if err != nil {
		return fmt.Errorf("audit write: %w", err)
	}
	t.head = &end
	t.batches.Add(1)
	t.written.Add(int64(len(batch)))
	return nil
}

// extend links batch after the chain head and moves the head past it. It
// first assumes the head is still where this writer left it, which costs
// no read; when another writer (a replica, a second Trail) moved it, or on
// the first batch, it reads and locks the head and links again.
func (t *Trail) extend(ctx context.Context, tx *sql.Tx, batch []*pending) (chainHead, error) {
	if t.head != nil {
		end := link(*t.head, batch)
		moved, err := t.moveHead(ctx, tx, *t.head, end)
		if err != nil || moved {
			return end, err
		}
	}
	start, err := t.lockHead(ctx, tx)
	if err != nil {
		return chainHead{}, err
	}
	end := link(start, batch)
	moved, err := t.moveHead(ctx, tx, start, end)
	if err == nil && !moved {
		err = errors.New("update chain head: head changed while locked")
	}
	return end, err
}

// link gives each record of batch its place after h and returns the new
// head.
func link(h chainHead, batch []*pending) chainHead {
	for _, p := range batch {
		h.seq++
		p.row.seq, p.row.prevHash = h.seq, h.hash
		p.row.hash = chainHash(h.hash, p.canon)
		h.hash = p.row.hash
	}
	return h
}

// moveHead sets the head to to if it is from, and reports whether it was.
func (t *Trail) moveHead(ctx context.Context, tx *sql.Tx, from, to chainHead) (bool, error) {
	res, err := t.stmts.exec(ctx, tx, moveHeadSQL, to.seq, to.hash, from.seq, from.hash)
	if err != nil {
		return false, fmt.Errorf("update chain head: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("update chain head: %w", err)
	}
	return n == 1, nil
}

// lockHead reads the head; on PostgreSQL it locks the row (FOR UPDATE).
func (t *Trail) lockHead(ctx context.Context, tx *sql.Tx) (chainHead, error) {
	q := selectHeadSQL
	if t.db.Dialect() == store.Postgres {
		q += ` FOR UPDATE`
	}
	var h chainHead
	if err := t.stmts.queryRow(ctx, tx, q).Scan(&h.seq, &h.hash); err != nil {
		return h, fmt.Errorf("lock chain head: %w", err)
	}
	return h, nil
}

// insertRows inserts ps, one INSERT per chunk (statements.chunk: one row
// on SQLite, up to rowsPerInsert on PostgreSQL).
func (t *Trail) insertRows(ctx context.Context, tx *sql.Tx, ps []*pending) error {
	args := make([]any, 0, min(len(ps), rowsPerInsert)*rowColumnCount)
	for len(ps) > 0 {
		n := t.stmts.chunk(len(ps))
		args = args[:0]
		for _, p := range ps[:n] {
			args = p.row.appendArgs(args)
		}
		if _, err := t.stmts.exec(ctx, tx, t.stmts.insertText(n), args...); err != nil {
			return fmt.Errorf("insert records: %w", err)
		}
		ps = ps[n:]
	}
	return nil
}

// Checkpoint signs the current chain head and stores it. It returns the
// checkpoint even when one for that sequence number already existed.
func (t *Trail) Checkpoint(ctx context.Context) (Checkpoint, error) {
	var c Checkpoint
	err := t.db.QueryRowContext(ctx, `SELECT seq, hash FROM audit_chain WHERE id = 1`).Scan(&c.Seq, &c.Hash)
	if err != nil {
		return c, fmt.Errorf("checkpoint: read head: %w", err)
	}
	c.Kind, c.Time = KindCheckpoint, t.opts.Now().UTC().Truncate(time.Millisecond)
	c.sign(t.opts.Signer)
	if err := insertCheckpoint(ctx, t.db, c); err != nil {
		return c, fmt.Errorf("checkpoint: %w", err)
	}
	t.publish(ctx, c)
	return c, nil
}

// publish hands c to every publisher; failures are logged.
func (t *Trail) publish(ctx context.Context, c Checkpoint) {
	for _, p := range t.opts.Publishers {
		if err := p.Publish(ctx, c); err != nil {
			t.log.Error("audit checkpoint not published", "seq", c.Seq, "err", err)
		}
	}
}

// recover signs a checkpoint at start when records after the newest
// checkpoint are unsigned: the tail a crash (or a stop without its
// closing checkpoint) left. It is then covered at once, not a minute
// later, and is published like any other checkpoint.
func (t *Trail) recover() {
	ctx, cancel := context.WithTimeout(context.Background(), t.opts.WriteTimeout)
	defer cancel()
	var head, signed int64
	err := t.db.QueryRowContext(ctx, `SELECT seq FROM audit_chain WHERE id = 1`).Scan(&head)
	if err == nil {
		err = t.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM audit_checkpoints`).Scan(&signed)
	}
	if err == nil && head > signed {
		var c Checkpoint
		if c, err = t.Checkpoint(ctx); err == nil {
			t.lastCkpt = c.Seq
			t.log.Warn("audit: signed the records left without a checkpoint", "from_seq", signed+1, "to_seq", c.Seq)
		}
	}
	if err != nil {
		t.log.Error("audit recovery checkpoint failed", "err", err)
	}
}

type execer interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}

func insertCheckpoint(ctx context.Context, db execer, c Checkpoint) error {
	_, err := db.ExecContext(ctx, `INSERT INTO audit_checkpoints (kind, seq, hash, time_ms, key_id, signature)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (kind, seq) DO NOTHING`,
		c.Kind, c.Seq, c.Hash, c.Time.UnixMilli(), c.KeyID, c.Signature)
	if err != nil {
		return fmt.Errorf("insert checkpoint: %w", err)
	}
	return nil
}

// checkpointLoop checkpoints the head every CheckpointEvery when it moved.
func (t *Trail) checkpointLoop() {
	defer close(t.cpDone)
	tick := time.NewTicker(t.opts.CheckpointEvery)
	defer tick.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-tick.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), t.opts.WriteTimeout)
		var seq int64
		err := t.db.Read().QueryRowContext(ctx, `SELECT seq FROM audit_chain WHERE id = 1`).Scan(&seq)
		if err == nil && seq != t.lastCkpt {
			var c Checkpoint
			c, err = t.Checkpoint(ctx)
			t.lastCkpt = c.Seq
		}
		cancel()
		if err != nil {
			t.log.Error("audit checkpoint failed", "err", err)
		}
	}
}
