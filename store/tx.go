package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// txAttempts bounds how often Tx runs fn when the database asks for a retry.
const txAttempts = 5

// Tx runs fn in a transaction on the read/write handle and commits if fn
// returns nil. When the database reports a conflict that a retry can solve
// (SQLite busy or locked, PostgreSQL serialization failure or deadlock) the
// whole transaction runs again, so fn must have no side effects outside tx.
func (db *DB) Tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	var err error
	for attempt := range txAttempts {
		if attempt > 0 {
			if werr := sleepCtx(ctx, time.Duration(attempt*attempt)*5*time.Millisecond); werr != nil {
				return errors.Join(err, werr)
			}
		}
		err = db.tx(ctx, fn)
		if err == nil || !isRetryable(err) {
			return err
		}
	}
	return err
}

func (db *DB) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if db.dialect == SQLite {
		// Transactions queue for the one write connection in order (a
		// sync.Mutex hands over first come, first served once contended),
		// not in database/sql's random order, so that the log keeper's
		// turn comes after the transactions already waiting (wal.go).
		db.writeMu.Lock()
		defer db.writeMu.Unlock()
		if db.wal != nil {
			db.wal.beforeTx(ctx)
		}
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		return errors.Join(err, ignoreDone(tx.Rollback()))
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func ignoreDone(err error) error {
	if errors.Is(err, sql.ErrTxDone) {
		return nil
	}
	return err
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// isRetryable reports whether err is a transient conflict.
func isRetryable(err error) bool {
	if code, ok := sqliteCode(err); ok {
		primary := code & 0xff
		return primary == sqlite3.SQLITE_BUSY || primary == sqlite3.SQLITE_LOCKED
	}
	if code, ok := pgCode(err); ok {
		return code == "40001" || code == "40P01" // serialization_failure, deadlock_detected
	}
	return false
}

// IsUniqueViolation reports whether err is a UNIQUE or PRIMARY KEY
// constraint violation on either database.
func IsUniqueViolation(err error) bool {
	if code, ok := sqliteCode(err); ok {
		return code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	if code, ok := pgCode(err); ok {
		return code == "23505" // unique_violation
	}
	return false
}

func sqliteCode(err error) (int, bool) {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code(), true
	}
	return 0, false
}

func pgCode(err error) (string, bool) {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code, true
	}
	return "", false
}
