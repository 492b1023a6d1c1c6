package review_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/firebreak/firebreak/review"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

// seed fills the queue with n open items in one statement: five risk
// codes, four sources, deadlines one second apart.
func seed(b *testing.B, db *store.DB, n int, now time.Time) {
	b.Helper()
	_, err := db.ExecContext(context.Background(), `WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < CAST($1 AS BIGINT))
		INSERT INTO review_items (id, source, ref, state, stage, tenant_id, end_user, record_id, route, codes,
			policy_version, reason, exchange_ms, enqueued_ms, due_ms)
		SELECT 'rv_' || n, CASE n % 4 WHEN 0 THEN 'review' WHEN 1 THEN 'sample' WHEN 2 THEN 'complaint' ELSE 'appeal' END,
			'ref_' || n, 'open', 1, 't' || (n % 10), 'u' || n, '', 'chat',
			CASE n % 5 WHEN 0 THEN ' A1a ' WHEN 1 THEN ' A1d ' WHEN 2 THEN ' A2h ' WHEN 3 THEN ' A4a ' ELSE ' A5a ' END,
			'v1', 'bench', CAST($2 AS BIGINT), CAST($2 AS BIGINT), CAST($2 AS BIGINT) + n * 1000 FROM seq`, n, now.UnixMilli())
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkQueue measures the next-item claim and the queue's first page
// (plain, filtered by risk code, and the per-source counts) with 1,000 and
// with 1,000,000 open items, on SQLite and PostgreSQL: the 1,000-item
// queue is the baseline of the same run.
func BenchmarkQueue(b *testing.B) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		for _, n := range []int{1_000, 1_000_000} {
			b.Run(fmt.Sprintf("%s/items=%d", dialect, n), func(b *testing.B) {
				opts := store.Options{DataDir: b.TempDir()}
				if dialect == "postgres" {
					opts = store.Options{DSN: storetest.PostgresDSN(b)}
				}
				db := storetest.Open(b, opts)
				now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
				seed(b, db, n, now)
				if db.Dialect() == store.Postgres {
					if _, err := db.Exec(`ANALYZE review_items`); err != nil {
						b.Fatal(err)
					}
				}
				q, err := review.New(review.Options{DB: db, Now: func() time.Time { return now }})
				if err != nil {
					b.Fatal(err)
				}
				ctx := context.Background()
				b.Run("claim-next", func(b *testing.B) {
					i := 0
					for b.Loop() {
						i++
						if _, err := q.Next(ctx, review.Reviewer{ID: fmt.Sprint("st_", i)}, review.Filter{}); err != nil {
							b.Fatal(err)
						}
					}
				})
				for _, page := range []struct {
					name string
					f    review.Filter
				}{{"page", review.Filter{State: review.StateOpen}}, {"page-code", review.Filter{State: review.StateOpen, Code: "A4a"}}} {
					b.Run(page.name, func(b *testing.B) {
						for b.Loop() {
							if items, err := q.List(ctx, page.f); err != nil || len(items) != 50 {
								b.Fatalf("%v, %d items", err, len(items))
							}
						}
					})
				}
				b.Run("counts", func(b *testing.B) {
					for b.Loop() {
						if _, err := q.Counts(ctx); err != nil {
							b.Fatal(err)
						}
					}
				})
			})
		}
	}
}
