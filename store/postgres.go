package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

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
	return &DB{DB: pool, read: pool, dialect: Postgres, log: opts.Logger}, nil
}
