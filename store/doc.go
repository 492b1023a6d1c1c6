// Package store is Firebreak's database handle: one type, DB, over either an
// embedded SQLite file (one node, no other process) or a shared PostgreSQL
// (many replicas). Each domain (accounts, upstreams, policy, audit …) keeps its
// own hand-written SQL next to its code and runs it on this handle; store only
// owns what the two databases do differently.
//
// # Writing SQL that runs on both
//
//   - Placeholders are $1, $2 … everywhere. modernc.org/sqlite binds "$N" to
//     the N-th argument, so there is no Rebind step.
//   - Timestamps are BIGINT columns holding Unix milliseconds (UTC). Convert
//     with time.UnixMilli / t.UnixMilli; NULL means "never" or "not set".
//   - Booleans are BOOLEAN columns bound from Go bool (SQLite stores 0/1).
//   - IDs are TEXT generated in Go, so no SERIAL / AUTOINCREMENT difference.
//   - Upserts use INSERT … ON CONFLICT (…) DO UPDATE SET … = excluded.…,
//     which both databases accept.
//   - Binary values are stored as hex or base64 TEXT (no BLOB vs BYTEA).
//
// # Migrations
//
// Migrations live in store/migrations and are embedded into the binary. To add
// one, drop a file named
//
//	NNNN_short_name.sql            (runs on both databases), or
//	NNNN_short_name.sqlite.sql     plus
//	NNNN_short_name.postgres.sql   (when the DDL truly differs)
//
// where NNNN is the next free number. Migrations run in order of number then
// name, each in its own transaction, and are recorded by name
// ("NNNN_short_name") in schema_migrations, so two files that picked the same
// number on different branches both apply. A file may hold several statements
// separated by semicolons. Never edit a migration that has shipped; add a new
// one. Statements that cannot run inside a transaction (CREATE INDEX
// CONCURRENTLY, VACUUM) are not allowed. On PostgreSQL an advisory lock
// serialises replicas that start at the same moment; on SQLite the
// transaction's write lock does the same.
package store
