package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// sqliteFile is the database file name inside Options.DataDir.
const sqliteFile = "firebreak.db"

// sqlitePragmas apply to every connection. synchronous=NORMAL in WAL mode
// means a commit is durable against a process crash but the last few
// transactions may be lost if the machine loses power or the OS crashes
// before the WAL is synced; the database itself never corrupts. In exchange a
// commit costs no fsync. A domain that needs power-loss durability for some
// writes must not rely on this default.
var sqlitePragmas = []string{
	fmt.Sprintf("busy_timeout(%d)", sqliteBusyTimeout.Milliseconds()),
	"journal_mode(WAL)",
	"foreign_keys(1)",
	"synchronous(NORMAL)",
	// Deleted and overwritten content is zeroed in the file, free pages
	// included: content erased on a data subject's request (sealed, but
	// the keyring still opens it) must not stay readable in the free
	// space of the database.
	"secure_delete(1)",
}

// sqliteBusyTimeout is how long a statement waits for a lock held by
// another process.
const sqliteBusyTimeout = 5 * time.Second

// WAL defaults (Options.WALLimit, Options.WALCheckpointEvery).
const (
	defaultWALLimit           = 64 << 20
	defaultWALCheckpointEvery = 100 * time.Millisecond
)

// Exists reports whether opts name a database that is there: a PostgreSQL
// DSN always (the server says otherwise when opened), a SQLite file when
// DataDir holds one. Offline commands that only read use it so as not to
// create an empty database.
func Exists(opts Options) bool {
	if opts.DSN != "" {
		return true
	}
	dir := opts.DataDir
	if dir == "" {
		dir = "./firebreak-data"
	}
	_, err := os.Stat(filepath.Join(dir, sqliteFile))
	return err == nil
}

func openSQLite(ctx context.Context, opts Options) (*DB, error) {
	dir := opts.DataDir
	if dir == "" {
		dir = "./firebreak-data"
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	path := filepath.Join(dir, sqliteFile)
	// Create the file ourselves so it is 0600 from the start; SQLite gives
	// its -wal and -shm files the same mode as the database file.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create database file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("create database file: %w", err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		opts.Logger.Warn("database file is readable by others", "path", path, "mode", fi.Mode().Perm().String())
	}

	walLimit, every := opts.WALLimit, opts.WALCheckpointEvery
	if walLimit == 0 {
		walLimit = defaultWALLimit
	}
	if every == 0 {
		every = defaultWALCheckpointEvery
	}
	dsn := sqliteDSN(path, false)
	if every > 0 {
		// Checkpoints leave the commit path (see wal.go). When SQLite
		// starts the log again by itself, it cuts the file to a quarter
		// of the limit.
		dsn += "&" + url.Values{"_pragma": {"wal_autocheckpoint(0)",
			fmt.Sprintf("journal_size_limit(%d)", walLimit/4)}}.Encode()
	}
	write, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	// The writer must exist first: it switches the file to WAL mode, which
	// the read-only connections cannot do.
	if err := pingWriter(ctx, write); err != nil {
		_ = write.Close()
		return nil, fmt.Errorf("ping sqlite: %w", err)
	}

	read, err := sql.Open("sqlite", sqliteDSN(path, true))
	if err != nil {
		_ = write.Close()
		return nil, err
	}
	n := opts.MaxOpenConns
	if n == 0 {
		n = 4
	}
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	read.SetConnMaxIdleTime(5 * time.Minute)
	db := &DB{DB: write, read: read, dialect: SQLite, log: opts.Logger}
	if every > 0 {
		if db.wal, err = startWALKeeper(ctx, db, path, walLimit, every, opts.Logger); err != nil {
			_ = db.Close()
			return nil, err
		}
	}
	opts.Logger.Info("store opened", "dialect", "sqlite", "path", path)
	return db, nil
}

// sqliteDSN builds a modernc.org/sqlite DSN. Transactions begin IMMEDIATE so a
// transaction that reads and then writes never fails half-way on a lock
// upgrade; read-only connections refuse writes.
func sqliteDSN(path string, readOnly bool) string {
	q := url.Values{}
	for _, p := range sqlitePragmas {
		q.Add("_pragma", p)
	}
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}

// pingWriter opens the write connection, retrying for up to ten seconds
// while another process holds the lock the switch to WAL mode needs: that
// switch answers SQLITE_BUSY at once instead of waiting busy_timeout.
func pingWriter(ctx context.Context, db *sql.DB) error {
	deadline := time.Now().Add(10 * time.Second)
	for delay := 5 * time.Millisecond; ; delay = min(2*delay, 200*time.Millisecond) {
		err := db.PingContext(ctx)
		if err == nil || !isRetryable(err) || time.Now().After(deadline) {
			return err
		}
		if err := sleepCtx(ctx, delay); err != nil {
			return err
		}
	}
}
