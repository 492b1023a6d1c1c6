package audit

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/firebreak/firebreak/store"
)

// pending is one Append waiting for its transaction.
type pending struct {
	row   *row
	canon []byte // row.canonical(), computed by the caller
	done  chan error
}

// rowsPerInsert caps the rows of one INSERT statement (32 parameters each,
// well under both databases' parameter limits).
const rowsPerInsert = 64

// writeLoop is the single writer: it takes the first waiting append, adds
// whatever else is queued up to MaxBatch, writes them in one transaction
// and wakes them all. While it commits, new appends queue up for the next
// batch, so batches grow with load and a lone append is written at once.
func (t *Trail) writeLoop() {
	defer close(t.exited)
	batch := make([]*pending, 0, t.opts.MaxBatch)
	for {
		select {
		case p := <-t.queue:
			batch = t.fill(append(batch[:0], p))
			t.commit(batch)
		case <-t.stop:
			for {
				select {
				case p := <-t.queue:
					batch = t.fill(append(batch[:0], p))
					t.commit(batch)
				default:
					return
				}
			}
		}
	}
}

// fill adds queued appends to batch without waiting.
func (t *Trail) fill(batch []*pending) []*pending {
	for len(batch) < t.opts.MaxBatch {
		select {
		case p := <-t.queue:
			batch = append(batch, p)
		default:
			return batch
		}
	}
	return batch
}

// commit writes batch and reports to every waiter. When a batch of several
// fails, each record is retried alone so that one bad record (say, a
// duplicate id) fails only its own Append.
func (t *Trail) commit(batch []*pending) {
	err := t.writeBatch(batch)
	if err != nil && len(batch) > 1 {
		for _, p := range batch {
			p.done <- t.writeBatch([]*pending{p})
		}
		return
	}
	if err != nil {
		t.log.Error("audit append failed", "records", len(batch), "err", err)
	}
	for _, p := range batch {
		p.done <- err
	}
}

// writeBatch appends batch to the chain in one transaction. The chain head
// row is locked first (SELECT … FOR UPDATE on PostgreSQL; SQLite
// transactions already hold the database write lock), so writers on several
// replicas extend one chain in one order.
func (t *Trail) writeBatch(batch []*pending) error {
	ctx, cancel := context.WithTimeout(context.Background(), t.opts.WriteTimeout)
	defer cancel()
	var seq int64
	var hash string
	err := t.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if seq, hash, err = lockHead(ctx, tx, t.db.Dialect()); err != nil {
			return err
		}
		for _, p := range batch {
			seq++
			p.row.seq, p.row.prevHash = seq, hash
			p.row.hash = chainHash(hash, p.canon)
			hash = p.row.hash
		}
		for i := 0; i < len(batch); i += rowsPerInsert {
			if err := t.insertRows(ctx, tx, batch[i:min(i+rowsPerInsert, len(batch))]); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE audit_chain SET seq = $1, hash = $2 WHERE id = 1`, seq, hash)
		if err != nil {
			return fmt.Errorf("update chain head: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("audit write: %w", err)
	}
	t.batches.Add(1)
	t.written.Add(int64(len(batch)))
	return nil
}

func lockHead(ctx context.Context, tx *sql.Tx, d store.Dialect) (int64, string, error) {
	q := `SELECT seq, hash FROM audit_chain WHERE id = 1`
	if d == store.Postgres {
		q += ` FOR UPDATE`
	}
	var seq int64
	var hash string
	if err := tx.QueryRowContext(ctx, q).Scan(&seq, &hash); err != nil {
		return 0, "", fmt.Errorf("lock chain head: %w", err)
	}
	return seq, hash, nil
}

// insertRows inserts ps. SQLite runs in process, so one prepared
// single-row statement per record is cheapest (it resolves "$N" names by a
// linear search, which makes wide multi-row statements slow); PostgreSQL
// gets one multi-row statement per chunk, one round trip.
func (t *Trail) insertRows(ctx context.Context, tx *sql.Tx, ps []*pending) error {
	if t.insertOne != nil {
		stmt := tx.StmtContext(ctx, t.insertOne)
		for _, p := range ps {
			if _, err := stmt.ExecContext(ctx, p.row.args()...); err != nil {
				return fmt.Errorf("insert record: %w", err)
			}
		}
		return nil
	}
	q, ok := t.inserts[len(ps)]
	if !ok {
		q = insertSQL(len(ps))
		t.inserts[len(ps)] = q
	}
	args := make([]any, 0, len(ps)*rowColumnCount)
	for _, p := range ps {
		args = append(args, p.row.args()...)
	}
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("insert records: %w", err)
	}
	return nil
}

func insertSQL(n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO audit_records (" + rowColumns + ") VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for j := range rowColumnCount {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString("$" + strconv.Itoa(i*rowColumnCount+j+1))
		}
		b.WriteByte(')')
	}
	return b.String()
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
	return c, nil
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
