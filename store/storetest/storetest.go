// Package storetest runs a domain's store tests against both databases
// Firebreak supports: a fresh SQLite file and a fresh PostgreSQL schema. Every
// domain's store tests go through Run, so the same assertions hold on both.
//
// The PostgreSQL server is named by FIREBREAK_TEST_POSTGRES (default
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable). If it cannot be
// reached the postgres subtest fails; set FIREBREAK_TEST_POSTGRES=off to skip
// it on purpose.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/firebreak/firebreak/store"
)

// EnvPostgres names the environment variable that selects the test server.
const EnvPostgres = "FIREBREAK_TEST_POSTGRES"

const defaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// Run runs fn twice, as subtests "sqlite" and "postgres", each with a fresh,
// fully migrated database that is closed and removed when the subtest ends.
// The two run in parallel with each other (and with the package's other
// parallel tests): they share nothing but what the calling test captured,
// which must therefore be read-only. Like any parallel subtest they start
// once the calling function has returned, so the caller releases what fn
// uses with t.Cleanup, not defer.
func Run(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, Open(t, store.Options{DataDir: t.TempDir()}))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, Open(t, store.Options{DSN: PostgresDSN(t)}))
	})
}

// Open opens a store with opts and closes it when the test ends.
func Open(t testing.TB, opts store.Options) *store.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := store.Open(ctx, opts)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return db
}

// PostgresDSN creates an empty schema on the test server and returns a DSN
// whose connections all use it as search_path. The schema is dropped when
// the test ends. It skips the test only if EnvPostgres is "off".
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	switch base {
	case "off":
		t.Skipf("%s=off", EnvPostgres)
	case "":
		base = defaultPostgres
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("postgres %s: %v", EnvPostgres, err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	schema := "fbtest_" + randomHex(t)
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("postgres unreachable (set %s=off to skip): %v", EnvPostgres, err)
	}
	// Cleanups run last-in first-out: this one runs after the store opened
	// on the returned DSN has been closed.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", EnvPostgres, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func randomHex(t testing.TB) string {
	t.Helper()
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}
