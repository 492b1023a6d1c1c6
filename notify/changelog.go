package notify

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/firebreak/firebreak/store"
)

// pollBatch bounds the rows read by one change_log query.
const pollBatch = 500

// changeLog is the SQL over the change_log table.
type changeLog struct {
	db      *store.DB
	dialect store.Dialect
	channel string // PostgreSQL notice channel, one per schema
}

// row is one change_log entry.
type row struct {
	seq            int64
	topic, payload string
}

func newChangeLog(ctx context.Context, db *store.DB) (*changeLog, error) {
	cl := &changeLog{db: db, dialect: db.Dialect()}
	if cl.dialect != store.Postgres {
		return cl, nil
	}
	// Channels are database-wide while tables are per schema: name the
	// channel after the schema so two deployments in one database (or two
	// tests) never hear each other.
	var schema string
	if err := db.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return nil, fmt.Errorf("read schema: %w", err)
	}
	sum := sha256.Sum256([]byte(schema))
	cl.channel = "firebreak_notify_" + hex.EncodeToString(sum[:8])
	return cl, nil
}

// The lock is held to the end of the publishing transaction, so seq values
// are taken in commit order: a reader that sees seq N has already seen, or
// will never see, every seq below N.
const (
	lockLog      = `SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.firebreak_change_log'))`
	insertNotify = `WITH ins AS (
		INSERT INTO change_log (topic, payload, created_at) VALUES ($1, $2, $3) RETURNING seq
	) SELECT pg_notify($4, ins.seq::text || ' ' || $1::text || ' ' || $2::text) FROM ins`
	insertRow = `INSERT INTO change_log (topic, payload, created_at) VALUES ($1, $2, $3)`
)

// append records one change in tx and, on PostgreSQL, queues its notice,
// which the server sends only if tx commits.
func (cl *changeLog) append(ctx context.Context, tx *sql.Tx, topic, payload string, now time.Time) error {
	if cl.dialect != store.Postgres {
		_, err := tx.ExecContext(ctx, insertRow, topic, payload, now.UnixMilli())
		return err
	}
	if _, err := tx.ExecContext(ctx, lockLog); err != nil {
		return fmt.Errorf("lock change_log: %w", err)
	}
	_, err := tx.ExecContext(ctx, insertNotify, topic, payload, now.UnixMilli(), cl.channel)
	return err
}

func (cl *changeLog) maxSeq(ctx context.Context) (int64, error) {
	var seq int64
	err := cl.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM change_log`).Scan(&seq)
	if err != nil {
		return 0, fmt.Errorf("read change_log: %w", err)
	}
	return seq, nil
}

// since returns up to pollBatch rows after seq, in order. It reads through
// the read/write handle: on SQLite that waits for a running write
// transaction to end, so a PublishTx row is read right after its commit.
func (cl *changeLog) since(ctx context.Context, seq int64) ([]row, error) {
	rs, err := cl.db.QueryContext(ctx,
		`SELECT seq, topic, payload FROM change_log WHERE seq > $1 ORDER BY seq LIMIT $2`, seq, pollBatch)
	if err != nil {
		return nil, fmt.Errorf("read change_log: %w", err)
	}
	defer rs.Close()
	var out []row
	for rs.Next() {
		var r row
		if err := rs.Scan(&r.seq, &r.topic, &r.payload); err != nil {
			return nil, fmt.Errorf("read change_log: %w", err)
		}
		out = append(out, r)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("read change_log: %w", err)
	}
	return out, nil
}

// prune deletes rows created before cutoff and reports how many.
func (cl *changeLog) prune(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := cl.db.ExecContext(ctx, `DELETE FROM change_log WHERE created_at < $1`, cutoff.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("prune change_log: %w", err)
	}
	return res.RowsAffected()
}
