package store

import (
	"context"
	"testing"
	"testing/fstest"
)

func TestLoadMigrations(t *testing.T) {
	sqlFile := &fstest.MapFile{Data: []byte("SELECT 1;")}
	cases := []struct {
		name    string
		files   []string
		dialect Dialect
		want    []string // files in order
		wantErr bool
	}{
		{
			name:    "ordered by number then name",
			files:   []string{"0010_b.sql", "0002_z.sql", "0002_a.sql"},
			dialect: SQLite,
			want:    []string{"0002_a.sql", "0002_z.sql", "0010_b.sql"},
		},
		{
			name:    "dialect variant picked",
			files:   []string{"0001_a.sql", "0002_b.sqlite.sql", "0002_b.postgres.sql"},
			dialect: Postgres,
			want:    []string{"0001_a.sql", "0002_b.postgres.sql"},
		},
		{name: "missing variant", files: []string{"0002_b.sqlite.sql"}, dialect: Postgres, wantErr: true},
		{name: "generic and variant", files: []string{"0002_b.sql", "0002_b.sqlite.sql"}, dialect: SQLite, wantErr: true},
		{name: "unknown dialect", files: []string{"0002_b.mysql.sql"}, dialect: SQLite, wantErr: true},
		{name: "no number", files: []string{"accounts.sql"}, dialect: SQLite, wantErr: true},
		{name: "zero", files: []string{"0000_x.sql"}, dialect: SQLite, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for _, f := range tc.files {
				fsys["migrations/"+f] = sqlFile
			}
			ms, err := loadMigrations(fsys, tc.dialect)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("got %v, want an error", ms)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(ms) != len(tc.want) {
				t.Fatalf("got %d migrations, want %d", len(ms), len(tc.want))
			}
			for i, m := range ms {
				if m.file != "migrations/"+tc.want[i] {
					t.Errorf("migration %d: %s, want %s", i, m.file, tc.want[i])
				}
			}
		})
	}
}

func TestEmbeddedMigrationsResolveForBothDialects(t *testing.T) {
	for _, d := range []Dialect{SQLite, Postgres} {
		if _, err := loadMigrations(migrationFS, d); err != nil {
			t.Errorf("%s: %v", d, err)
		}
	}
}

func TestFailedMigrationRollsBack(t *testing.T) {
	db, err := Open(context.Background(), Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	fsys := fstest.MapFS{
		"migrations/0100_good.sql": {Data: []byte("CREATE TABLE t1 (x INTEGER); CREATE TABLE t2 (y INTEGER);")},
		"migrations/0101_bad.sql":  {Data: []byte("CREATE TABLE t3 (x INTEGER); NOT SQL;")},
	}
	ms, err := loadMigrations(fsys, db.dialect)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.applyMigrations(context.Background(), fsys, ms); err == nil {
		t.Fatal("bad migration applied without error")
	}
	for table, want := range map[string]int{"t1": 1, "t2": 1, "t3": 0} {
		var n int
		err := db.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE name = $1`, table).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Errorf("table %s exists %d times, want %d", table, n, want)
		}
	}
	var recorded int
	if err := db.QueryRow(`SELECT COUNT(*) FROM schema_migrations WHERE name = '0101_bad'`).Scan(&recorded); err != nil {
		t.Fatal(err)
	}
	if recorded != 0 {
		t.Error("failed migration recorded as applied")
	}
}
