package store

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
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

// TestAuditLeanMigration applies the migrations before 0102 to a SQLite
// file, stores an audit record the way the trail did, applies the rest and
// checks that the record is kept whole, that seq is now the rowid and that
// the index on time is gone.
func TestAuditLeanMigration(t *testing.T) {
	ctx := context.Background()
	db, rest := migratedBefore(t, 102)
	const cols = `seq, id, request_id, time_ms, tenant_id, key_id, end_user, model, route, upstream, stream,
		input_action, input_code, input_hits, output_action, output_code, output_hits, codes, policy_version,
		sanctions, total_ms, first_byte_ms, prompt_tokens, completion_tokens, total_tokens, status, outcome,
		content_digest, content, content_erased_at, prev_hash, hash, label`
	row := []any{int64(7), "01JC0000000000000000000000", "req-1", int64(1730419200000), "t1", "k1", "u1", "m", "direct",
		"up", true, "allow", "", "[]", "mask", "A4f", `[{"detector":"pii"}]`, " A4f ", "v1", "[]", int64(12), int64(3),
		int64(10), int64(20), int64(30), int64(200), "ok", "d1", "c1", int64(99), "p1", "h1", `{"aigc":{}}`}
	if _, err := db.ExecContext(ctx, `INSERT INTO audit_records (`+cols+`) VALUES
		($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26,$27,$28,$29,$30,$31,$32,$33)`,
		row...); err != nil {
		t.Fatal(err)
	}
	if err := db.applyMigrations(ctx, migrationFS, rest); err != nil {
		t.Fatal(err)
	}
	got := make([]any, len(row))
	ptrs := make([]any, len(row))
	for i := range got {
		ptrs[i] = &got[i]
	}
	if err := db.QueryRowContext(ctx, `SELECT `+cols+` FROM audit_records WHERE rowid = 7`).Scan(ptrs...); err != nil {
		t.Fatal(err)
	}
	for i := range row {
		if fmt.Sprint(got[i]) != fmt.Sprint(row[i]) && !(row[i] == true && fmt.Sprint(got[i]) == "1") {
			t.Errorf("column %d: %v, want %v", i, got[i], row[i])
		}
	}
	var indexes []string
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_records' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		indexes = append(indexes, n)
	}
	want := []string{"audit_records_flagged", "audit_records_request", "audit_records_tenant", "audit_records_user",
		"sqlite_autoindex_audit_records_1"}
	if !slices.Equal(indexes, want) {
		t.Errorf("indexes %v, want %v", indexes, want)
	}
	// The upgrade counts the record already there into the hourly counters.
	var hour, n, le int64
	if err := db.QueryRowContext(ctx, `SELECT hour_ms, requests FROM audit_hourly WHERE tenant_id = 't1' AND output_code = 'A4f'`).Scan(&hour, &n); err != nil || hour != 1730419200000 || n != 1 {
		t.Errorf("hourly counter: hour %d requests %d (%v), want 1730419200000 and 1", hour, n, err)
	}
	if err := db.QueryRowContext(ctx, `SELECT le_ms FROM audit_hourly WHERE tenant_id = 't1'`).Scan(&le); err != nil || le != 25 {
		t.Errorf("latency bin %d (%v), want 25 (12 ms)", le, err)
	}
}

// TestAuditHourlyOneTableMigration applies the migrations before 0605 to a
// SQLite file, stores records and their counters in the two tables of 0601
// as the writer kept them, applies the rest and checks that the one table
// that replaces them counts the same: each request under its latency bin,
// a rejected request under bin 0, staff actions not at all.
func TestAuditHourlyOneTableMigration(t *testing.T) {
	ctx := context.Background()
	db, rest := migratedBefore(t, 605)
	const hour = int64(1730419200000)
	for i, r := range []struct {
		route, outcome string
		totalMs        int64
	}{{"direct", "ok", 12}, {"direct", "ok", 7}, {"direct", "ok", 25}, {"direct", "rejected", 0}, {"staff", "ok", 3}} {
		if _, err := db.ExecContext(ctx, `INSERT INTO audit_records (seq, id, request_id, time_ms, tenant_id, key_id,
			end_user, model, route, upstream, stream, input_action, input_code, input_hits, output_action, output_code,
			output_hits, codes, policy_version, sanctions, total_ms, first_byte_ms, prompt_tokens, completion_tokens,
			total_tokens, status, outcome, content_digest, content, prev_hash, hash)
			VALUES ($1, $2, 'r', $3, 't1', 'k', '', 'm', $4, 'up', FALSE, 'allow', '', '[]', 'allow', '', '[]', '', 'v1',
			'[]', $5, 0, 0, 0, 0, 200, $6, '', '', 'p', 'h')`,
			i+1, fmt.Sprintf("01JC%022d", i), hour+int64(i), r.route, r.totalMs, r.outcome); err != nil {
			t.Fatal(err)
		}
	}
	// The counters as the writer kept them in the two tables.
	if _, err := db.ExecContext(ctx, `INSERT INTO audit_hourly VALUES
			($1, 't1', 'm', 'up', 'allow', '', 'allow', '', 'ok', 3), ($1, 't1', 'm', 'up', 'allow', '', 'allow', '', 'rejected', 1);
		INSERT INTO audit_hourly_latency VALUES ($1, 't1', 10, 1), ($1, 't1', 25, 2)`, hour); err != nil {
		t.Fatal(err)
	}
	if err := db.applyMigrations(ctx, migrationFS, rest); err != nil {
		t.Fatal(err)
	}
	rows, err := db.QueryContext(ctx, `SELECT hour_ms || ' ' || outcome || ' ' || le_ms || ' ' || requests FROM audit_hourly ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{"1730419200000 ok 10 1", "1730419200000 ok 25 2", "1730419200000 rejected 0 1"}
	if !slices.Equal(got, want) {
		t.Errorf("counters %q, want %q", got, want)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE name = 'audit_hourly_latency'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("audit_hourly_latency still there (%d, %v)", n, err)
	}
}

// migratedBefore opens a SQLite file with the embedded migrations numbered
// below num applied, and returns the rest.
func migratedBefore(t *testing.T, num int) (*DB, []migration) {
	t.Helper()
	db, err := openSQLite(context.Background(), Options{DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	ms, err := loadMigrations(migrationFS, SQLite)
	if err != nil {
		t.Fatal(err)
	}
	split := slices.IndexFunc(ms, func(m migration) bool { return m.num >= num })
	if err := db.applyMigrations(context.Background(), migrationFS, ms[:split]); err != nil {
		t.Fatal(err)
	}
	return db, ms[split:]
}
