package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/firebreak/firebreak/clienterr"
)

// Dialect names the database behind a DB.
type Dialect int

const (
	SQLite Dialect = iota + 1
	Postgres
)

func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	}
	return fmt.Sprintf("dialect(%d)", int(d))
}

// ErrNotFound is returned (wrapped) by domain stores when a row does not
// exist. Match it with errors.Is.
var ErrNotFound = errors.New("not found")

// NotFound returns the error of a lookup that found no what ("tenant",
// `upstream "a"`): it matches ErrNotFound, and a client sees "<what> not
// found".
func NotFound(what string) error { return &clienterr.NotFoundError{What: what, Err: ErrNotFound} }

// Options configures Open. The zero value opens an embedded SQLite database in
// ./firebreak-data.
type Options struct {
	// DSN selects the database. "" opens the embedded SQLite file
	// DataDir/firebreak.db; "postgres://…" or "postgresql://…" opens
	// PostgreSQL through pgx. Default "".
	DSN string
	// DataDir holds the SQLite file (created with mode 0700, the file 0600).
	// Default "./firebreak-data". Unused for PostgreSQL.
	DataDir string
	// MaxOpenConns caps the connection pool: PostgreSQL connections, or
	// SQLite read-only connections (SQLite always has exactly one writer).
	// Default 16 for PostgreSQL, 4 for SQLite.
	MaxOpenConns int
	// Logger receives open and migration events. Default: discard.
	Logger *slog.Logger
	// WALLimit bounds SQLite's write-ahead log file, in bytes: a
	// background job checkpoints it off the commit path and starts it
	// again once it passes half the limit (see wal.go). Default 64 MiB.
	// Unused for PostgreSQL.
	WALLimit int64
	// WALCheckpointEvery is how often that job runs (more often when the
	// log grows fast). Default 100ms; negative turns it off and leaves
	// checkpoints to SQLite, inside the commit that takes the log past
	// 1,000 pages, with no bound. Unused for PostgreSQL.
	WALCheckpointEvery time.Duration
}

// DB is the database handle shared by all domain stores.
//
// The embedded *sql.DB is the read/write handle: use it for writes and for
// reads that must see the caller's own writes. On SQLite it holds a single
// connection, so writes are serialised in process and never fail with
// SQLITE_BUSY; inside DB.Tx use only the *sql.Tx, never DB itself, or the
// call waits for the connection the transaction holds. Read returns a pool
// for plain reads that may run concurrently with a write.
type DB struct {
	*sql.DB
	read    *sql.DB
	dialect Dialect
	log     *slog.Logger
	wal     *walKeeper // SQLite's log keeper; nil when off or on PostgreSQL
	dsn     string     // PostgreSQL: for DedicatedConn; never logged
	writeMu sync.Mutex // SQLite: taken by Tx and the log keeper, in turn
}

// Open opens the database named by opts and applies pending migrations.
func Open(ctx context.Context, opts Options) (*DB, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.WALLimit < 0 || (opts.WALLimit > 0 && opts.WALLimit < 1<<20) {
		return nil, fmt.Errorf("open store: WALLimit %d is under 1 MiB", opts.WALLimit)
	}
	if opts.MaxOpenConns < 0 {
		return nil, fmt.Errorf("open store: MaxOpenConns %d is negative", opts.MaxOpenConns)
	}
	var (
		db  *DB
		err error
	)
	switch {
	case opts.DSN == "":
		db, err = openSQLite(ctx, opts)
	case strings.HasPrefix(opts.DSN, "postgres://"), strings.HasPrefix(opts.DSN, "postgresql://"):
		db, err = openPostgres(ctx, opts)
	default:
		return nil, errors.New("open store: DSN must be empty (SQLite) or postgres://…")
	}
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if err := db.migrate(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	return db, nil
}

// Dialect reports which database this handle talks to.
func (db *DB) Dialect() Dialect { return db.dialect }

// Read returns the handle for plain reads. On SQLite it is a pool of
// read-only connections that run beside the single writer (WAL mode); on
// PostgreSQL it is the same pool as the embedded *sql.DB.
func (db *DB) Read() *sql.DB { return db.read }

// Close closes every pool.
func (db *DB) Close() error {
	if db.wal != nil {
		db.wal.close()
	}
	err := db.DB.Close()
	if db.read != db.DB {
		err = errors.Join(err, db.read.Close())
	}
	return err
}
