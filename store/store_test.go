package store_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

func TestPlaceholders(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		// $1 used twice and out of order must bind the same argument.
		var sum, second int64
		err := db.QueryRowContext(context.Background(),
			`SELECT CAST($2 AS BIGINT), CAST($1 AS BIGINT) + CAST($1 AS BIGINT)`, 20, 7).Scan(&second, &sum)
		if err != nil {
			t.Fatal(err)
		}
		if sum != 40 || second != 7 {
			t.Fatalf("got sum=%d second=%d, want 40 and 7", sum, second)
		}
	})
}

func TestMigrationsRecorded(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		var n int
		err := db.QueryRowContext(context.Background(),
			`SELECT COUNT(*) FROM schema_migrations WHERE name = $1`, "0001_accounts").Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Fatalf("0001_accounts recorded %d times, want 1", n)
		}
	})
}

func TestConcurrentOpenMigratesOnce(t *testing.T) {
	cases := []struct {
		name string
		opts func(t *testing.T) store.Options
	}{
		{"sqlite", func(t *testing.T) store.Options { return store.Options{DataDir: t.TempDir()} }},
		{"postgres", func(t *testing.T) store.Options { return store.Options{DSN: storetest.PostgresDSN(t)} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts(t)
			const n = 4
			dbs := make([]*store.DB, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { dbs[i], errs[i] = store.Open(context.Background(), opts) })
			}
			wg.Wait()
			for i := range n {
				if errs[i] != nil {
					t.Fatalf("open %d: %v", i, errs[i])
				}
				t.Cleanup(func() { _ = dbs[i].Close() })
			}
			var rows, distinct int
			err := dbs[0].QueryRowContext(context.Background(),
				`SELECT COUNT(*), COUNT(DISTINCT name) FROM schema_migrations`).Scan(&rows, &distinct)
			if err != nil {
				t.Fatal(err)
			}
			if rows != distinct || rows == 0 {
				t.Fatalf("schema_migrations has %d rows for %d names", rows, distinct)
			}
		})
	}
}

func TestSQLiteFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	db := storetest.Open(t, store.Options{DataDir: dir})
	if db.Dialect() != store.SQLite {
		t.Fatalf("dialect %v, want sqlite", db.Dialect())
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, "firebreak.db"): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", path, got, want)
		}
	}
	var mode string
	if err := db.QueryRowContext(context.Background(), `PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode %q, want wal", mode)
	}
	_, err := db.Read().ExecContext(context.Background(),
		`INSERT INTO settings (name, value, updated_at) VALUES ('x', 'y', 0)`)
	if err == nil {
		t.Error("write through the read-only pool succeeded")
	}
}

func TestOpenRejectsUnknownDSN(t *testing.T) {
	for _, dsn := range []string{"mysql://x", "sqlite3:foo.db", "file:x.db"} {
		t.Run(dsn, func(t *testing.T) {
			if _, err := store.Open(context.Background(), store.Options{DSN: dsn}); err == nil {
				t.Fatal("Open succeeded")
			}
		})
	}
}

func TestTx(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		insert := func(tx *sql.Tx, name string) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO settings (name, value, updated_at) VALUES ($1, 'v', 0)`, name)
			return err
		}
		t.Run("commit", func(t *testing.T) {
			if err := db.Tx(ctx, func(tx *sql.Tx) error { return insert(tx, "a") }); err != nil {
				t.Fatal(err)
			}
			assertSettings(t, db, "a", 1)
		})
		t.Run("rollback on error", func(t *testing.T) {
			boom := errors.New("boom")
			err := db.Tx(ctx, func(tx *sql.Tx) error {
				if err := insert(tx, "b"); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatalf("err %v, want boom", err)
			}
			assertSettings(t, db, "b", 0)
		})
		t.Run("unique violation", func(t *testing.T) {
			err := db.Tx(ctx, func(tx *sql.Tx) error { return insert(tx, "a") })
			if !store.IsUniqueViolation(err) {
				t.Fatalf("IsUniqueViolation(%v) = false", err)
			}
			if store.IsUniqueViolation(errors.New("unique")) {
				t.Fatal("plain error reported as unique violation")
			}
		})
		t.Run("retry on serialization failure", func(t *testing.T) {
			calls := 0
			err := db.Tx(ctx, func(tx *sql.Tx) error {
				calls++
				if calls == 1 {
					return &pgconn.PgError{Code: "40001"}
				}
				return insert(tx, "c")
			})
			if err != nil || calls != 2 {
				t.Fatalf("err %v after %d calls, want nil after 2", err, calls)
			}
			assertSettings(t, db, "c", 1)
		})
		t.Run("no retry on other errors", func(t *testing.T) {
			calls := 0
			_ = db.Tx(ctx, func(tx *sql.Tx) error { calls++; return errors.New("x") })
			if calls != 1 {
				t.Fatalf("fn ran %d times, want 1", calls)
			}
		})
	})
}

func assertSettings(t *testing.T, db *store.DB, name string, want int) {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM settings WHERE name = $1`, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Fatalf("settings %q: %d rows, want %d", name, n, want)
	}
}
