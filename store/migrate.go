package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one schema change, resolved for one dialect.
type migration struct {
	num  int
	name string // "0001_accounts": the key recorded in schema_migrations
	file string // the file that holds the SQL for this dialect
}

// loadMigrations lists the migrations in fsys for dialect d, ordered by
// number then name. A migration with dialect variants must have one for d.
func loadMigrations(fsys fs.FS, d Dialect) ([]migration, error) {
	files, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	type variants struct{ generic, sqlite, postgres string }
	byName := map[string]*variants{}
	for _, f := range files {
		base := strings.TrimSuffix(path.Base(f), ".sql")
		name, variant := base, ""
		if i := strings.LastIndexByte(base, '.'); i >= 0 {
			name, variant = base[:i], base[i+1:]
		}
		v := byName[name]
		if v == nil {
			v = &variants{}
			byName[name] = v
		}
		switch variant {
		case "":
			v.generic = f
		case "sqlite":
			v.sqlite = f
		case "postgres":
			v.postgres = f
		default:
			return nil, fmt.Errorf("migration %s: unknown dialect %q", f, variant)
		}
	}
	var out []migration
	for name, v := range byName {
		num, err := migrationNumber(name)
		if err != nil {
			return nil, err
		}
		if v.generic != "" && (v.sqlite != "" || v.postgres != "") {
			return nil, fmt.Errorf("migration %s: both a generic and a dialect file", name)
		}
		file := v.generic
		if file == "" {
			file = map[Dialect]string{SQLite: v.sqlite, Postgres: v.postgres}[d]
		}
		if file == "" {
			return nil, fmt.Errorf("migration %s: no file for %s", name, d)
		}
		out = append(out, migration{num: num, name: name, file: file})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].num != out[j].num {
			return out[i].num < out[j].num
		}
		return out[i].name < out[j].name
	})
	return out, nil
}

func migrationNumber(name string) (int, error) {
	prefix, _, ok := strings.Cut(name, "_")
	n, err := strconv.Atoi(prefix)
	if !ok || err != nil || n <= 0 {
		return 0, fmt.Errorf("migration %q: name must be NNNN_name", name)
	}
	return n, nil
}

// migrate applies the embedded migrations that are not yet recorded.
func (db *DB) migrate(ctx context.Context) error {
	ms, err := loadMigrations(migrationFS, db.dialect)
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	return db.applyMigrations(ctx, migrationFS, ms)
}

// applyMigrations runs each pending migration in its own transaction. Every
// transaction first takes the migration lock and re-reads what is applied,
// so processes that start together apply each migration exactly once.
func (db *DB) applyMigrations(ctx context.Context, fsys fs.FS, ms []migration) error {
	for _, m := range ms {
		var applied bool
		err := db.Tx(ctx, func(tx *sql.Tx) error {
			var err error
			applied, err = db.applyOne(ctx, tx, fsys, m)
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if applied {
			db.log.Info("migration applied", "name", m.name, "dialect", db.dialect.String())
		}
	}
	return nil
}

func (db *DB) applyOne(ctx context.Context, tx *sql.Tx, fsys fs.FS, m migration) (bool, error) {
	if db.dialect == Postgres {
		// One lock per schema, held until the transaction ends.
		const lock = `SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.firebreak_schema_migrations'))`
		if _, err := tx.ExecContext(ctx, lock); err != nil {
			return false, fmt.Errorf("lock: %w", err)
		}
	}
	const create = `CREATE TABLE IF NOT EXISTS schema_migrations (
		name       TEXT PRIMARY KEY,
		applied_at BIGINT NOT NULL
	)`
	if _, err := tx.ExecContext(ctx, create); err != nil {
		return false, fmt.Errorf("create schema_migrations: %w", err)
	}
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM schema_migrations WHERE name = $1`, m.name).Scan(&one)
	if err == nil {
		return false, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("read schema_migrations: %w", err)
	}
	body, err := fs.ReadFile(fsys, m.file)
	if err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return false, err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES ($1, $2)`,
		m.name, time.Now().UnixMilli())
	return true, err
}
