package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

func openPostgres(ctx context.Context, opts Options) (*DB, error) {
	pool, err := sql.Open("pgx", opts.DSN)
	if err != nil {
		return nil, err
	}
	n := opts.MaxOpenConns
	if n == 0 {
		n = 16
	}
	pool.SetMaxOpenConns(n)
	pool.SetMaxIdleConns(n)
	pool.SetConnMaxIdleTime(5 * time.Minute)
	if err := pool.PingContext(ctx); err != nil {
		_ = pool.Close()
		return nil, fmt.Errorf("ping postgres: %w", err)
	}
	// The DSN may hold a password: log only the dialect.
	opts.Logger.Info("store opened", "dialect", "postgres")
	return &DB{DB: pool, read: pool, dialect: Postgres, log: opts.Logger, dsn: opts.DSN}, nil
}

// DedicatedConn opens a PostgreSQL connection of its own, outside the
// pool, for a caller that holds one for a long time (a LISTEN loop). A
// pooled connection held that long would take a slot from every other
// user, and database/sql keeps it locked while it is lent out raw, so
// closing any prepared statement that was once prepared on it would wait
// for the holder. The caller closes the connection.
func (db *DB) DedicatedConn(ctx context.Context) (*pgx.Conn, error) {
	if db.dialect != Postgres {
		return nil, errors.New("store: a dedicated connection is for PostgreSQL only")
	}
	return pgx.Connect(ctx, db.dsn)
}
