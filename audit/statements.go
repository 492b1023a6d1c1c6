package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/firebreak/firebreak/store"
)

// The writer's statements. Each batch runs at most a few: the conditional
// head update, one multi-row INSERT per chunk of rows, one upsert per
// hourly counter the batch touches and, only when the head moved under
// another writer, the head read.
const (
	selectHeadSQL = `SELECT seq, hash FROM audit_chain WHERE id = 1`
	// moveHeadSQL moves the head only from the value the writer expects, so
	// a writer that last saw the head itself needs no read: one row
	// affected means the head was still its own (and is now locked).
	moveHeadSQL = `UPDATE audit_chain SET seq = $1, hash = $2 WHERE id = 1 AND seq = $3 AND hash = $4`
)

// rowsPerInsert caps the rows of one INSERT statement on PostgreSQL (one
// parameter per column each, well under its parameter limit).
const rowsPerInsert = 64

// statements runs the writer's SQL in a batch transaction. On SQLite every
// statement is prepared once, before any transaction (the one write
// connection is held by a transaction while it runs), because preparing is
// a large share of a small batch's cost, and a batch inserts its records
// one prepared single-row INSERT each: SQLite runs an INSERT of several
// rows (its VALUES list is a subquery to SQLite) with a statement journal,
// a copy of every page the statement changes, spilled to a temporary file
// past 64 KiB, even as INSERT OR ROLLBACK; a single-row INSERT needs none.
// On PostgreSQL a batch sends one multi-row INSERT per 64 records (one
// round trip), and the driver caches prepared statements per connection
// by text.
type statements struct {
	prepared map[string]*sql.Stmt // by SQL text; SQLite only
	inserts  map[int]string       // INSERT text by row count
	sqlite   bool                 // one row per INSERT, parameters anonymous
}

// newStatements prepares the writer's statements on SQLite.
func newStatements(db *store.DB) (*statements, error) {
	s := &statements{inserts: map[int]string{}}
	if db.Dialect() != store.SQLite {
		return s, nil
	}
	s.sqlite, s.prepared = true, map[string]*sql.Stmt{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	texts := []string{selectHeadSQL, moveHeadSQL, upsertHourlySQL, s.insertText(1)}
	for _, q := range texts {
		stmt, err := db.PrepareContext(ctx, q)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("prepare: %w", err), s.close())
		}
		s.prepared[q] = stmt
	}
	return s, nil
}

// chunk is the number of rows of the next INSERT for n remaining rows.
func (s *statements) chunk(n int) int {
	if s.sqlite {
		return 1
	}
	return min(n, rowsPerInsert)
}

func (s *statements) insertText(n int) string {
	q, ok := s.inserts[n]
	if !ok {
		q = insertSQL(n, s.sqlite)
		s.inserts[n] = q
	}
	return q
}

func (s *statements) exec(ctx context.Context, tx *sql.Tx, q string, args ...any) (sql.Result, error) {
	if stmt := s.prepared[q]; stmt != nil {
		return tx.StmtContext(ctx, stmt).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, q, args...)
}

func (s *statements) queryRow(ctx context.Context, tx *sql.Tx, q string, args ...any) *sql.Row {
	if stmt := s.prepared[q]; stmt != nil {
		return tx.StmtContext(ctx, stmt).QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, q, args...)
}

func (s *statements) close() error {
	var errs []error
	for _, stmt := range s.prepared {
		errs = append(errs, stmt.Close())
	}
	return errors.Join(errs...)
}

// insertSQL is an INSERT of n rows. Parameters are numbered ($1, $2 …)
// as everywhere in Firebreak, except on SQLite (sqlite true), which gets
// two changes. Its parameters are anonymous (?), bound by position,
// because SQLite finds the number of a "$N" parameter by a linear search
// of the statement's names. And a conflict rolls the whole transaction
// back (OR ROLLBACK) instead of the statement only, which SQLite needs
// no undo record for; the writer retries a failed batch record by record
// anyway.
func insertSQL(n int, sqlite bool) string {
	var b strings.Builder
	b.WriteString("INSERT ")
	if sqlite {
		b.WriteString("OR ROLLBACK ")
	}
	b.WriteString("INTO audit_records (" + rowColumns + ") VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for j := range rowColumnCount {
			if j > 0 {
				b.WriteByte(',')
			}
			if sqlite {
				b.WriteByte('?')
			} else {
				b.WriteString("$" + strconv.Itoa(i*rowColumnCount+j+1))
			}
		}
		b.WriteByte(')')
	}
	return b.String()
}
