package audit

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/firebreak/firebreak/safety"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

// varied is record i of a mix over three days: tenants, models, upstreams,
// both directions' actions and codes, every outcome, latencies across the
// bins (some on a bin's bound), times on and around hour boundaries, and a
// staff action now and then.
func varied(i int, start time.Time) Record {
	r := Record{Time: start.Add(time.Duration(i*i%(72*60)) * time.Minute).Add(time.Duration(i%3-1) * time.Millisecond),
		TenantID: fmt.Sprintf("t%d", i%3), Model: []string{"general", "coder"}[i%2], Route: "direct",
		Upstream: fmt.Sprintf("up%d", i%4), Status: 200, Outcome: OutcomeOK,
		Timings: Timings{TotalMs: []int64{0, 5, 6, 99, 250, 251, 4000, 70000}[i%8]}}
	switch i % 7 {
	case 1:
		r.Input = Decision{Action: safety.Refuse, Code: "A1a"}
		r.Outcome = OutcomeRefused
	case 2:
		r.Output = Decision{Action: safety.Mask, Code: "A4f"}
	case 3:
		r.Input = Decision{Action: safety.Block, Code: "A2c"}
		r.Output = Decision{Action: safety.Refuse, Code: "A1a"}
		r.Outcome = OutcomeFiltered
	case 4:
		r.Outcome, r.Upstream, r.Status = OutcomeRejected, "", 429
	case 5:
		r.Outcome = []string{OutcomeUpstreamError, OutcomeStreamFailed, OutcomeClientGone}[i%3]
	case 6:
		if i%2 == 0 {
			r = Action{Actor: "alice", Name: "POST /console/policy", TenantID: "t1", Status: 200, Outcome: OutcomeOK}.Record()
			r.Time = start.Add(time.Duration(i) * time.Minute)
		}
	}
	return r
}

// compareCounters checks that the summaries read from the hourly counters
// equal those counted over the records, for several hour-aligned ranges,
// bucket widths and tenant selections, and that the counters add up to the
// records.
func compareCounters(t *testing.T, tr *Trail, start time.Time, label string) {
	t.Helper()
	ctx := context.Background()
	for _, c := range []struct {
		from, to time.Time
		buckets  int
		tenants  []string
	}{
		{start, start.Add(72 * time.Hour), 72, nil},
		{start, start.Add(72 * time.Hour), 12, nil},
		{start.Add(-24 * time.Hour), start.Add(96 * time.Hour), 5, nil},
		{start.Add(5 * time.Hour), start.Add(29 * time.Hour), 24, []string{"t1"}},
		{start, start.Add(72 * time.Hour), 3, []string{"t0", "t2"}},
	} {
		q := SummaryQuery{From: c.from, To: c.to, Buckets: c.buckets, TenantIDs: c.tenants}
		width := (c.to.UnixMilli() - c.from.UnixMilli()) / int64(c.buckets)
		fromC, err := tr.summary(ctx, q, fromCounters, width)
		if err != nil {
			t.Fatal(err)
		}
		fromR, err := tr.summary(ctx, q, fromRecords(q), width)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fromC, fromR) {
			t.Fatalf("%s: %v..%v by %d %v:\ncounters %+v\nrecords  %+v", label, c.from, c.to, c.buckets, c.tenants, fromC, fromR)
		}
		if viaSummary, err := tr.Summary(ctx, q); err != nil || !reflect.DeepEqual(viaSummary, fromC) {
			t.Fatalf("%s: Summary does not read the counters: %v", label, err)
		}
	}
	var counted, records, latency, timed int64
	db := tr.db.Read()
	for _, q := range []struct {
		dst *int64
		sql string
	}{
		{&counted, `SELECT COALESCE(CAST(SUM(requests) AS BIGINT), 0) FROM audit_hourly`},
		{&records, `SELECT COUNT(*) FROM audit_records WHERE route <> 'staff'`},
		{&latency, `SELECT COALESCE(CAST(SUM(requests) AS BIGINT), 0) FROM audit_hourly WHERE le_ms > 0`},
		{&timed, `SELECT COUNT(*) FROM audit_records WHERE route <> 'staff' AND outcome <> 'rejected'`},
	} {
		if err := db.QueryRowContext(ctx, q.sql).Scan(q.dst); err != nil {
			t.Fatal(err)
		}
	}
	if counted != records || latency != timed {
		t.Fatalf("%s: counters hold %d requests and %d latencies, records %d and %d", label, counted, latency, records, timed)
	}
	var zero, unbinned int64
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_hourly WHERE requests <= 0`).Scan(&zero); err != nil || zero != 0 {
		t.Fatalf("%s: %d empty counters kept (%v)", label, zero, err)
	}
	// A latency bin (le_ms > 0) exactly for the requests not rejected.
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_hourly
		WHERE (le_ms = 0) <> (outcome = 'rejected')`).Scan(&unbinned); err != nil || unbinned != 0 {
		t.Fatalf("%s: %d counters with a latency bin that does not fit their outcome (%v)", label, unbinned, err)
	}
}

// TestHourlyCountersEqualRecords appends records concurrently (so batches
// hold several records and several counters), compares the counters with
// counts over the records, purges at an instant inside an hour and
// compares again, then recomputes the counters with the migration that
// makes them again from the records on upgrade (0605, which replaced the
// two tables of 0601 with one) and compares that too.
func TestHourlyCountersEqualRecords(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := newClock()
		start := clk.Now().Truncate(time.Hour)
		tr := newTrail(t, db, Options{Now: clk.Now, MaxBatch: 32})
		const n = 700
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < n; i += 8 {
					if err := tr.Append(ctx, varied(i, start)); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		if tr.batches.Load() >= n {
			t.Logf("every record in its own batch (%d batches): the batch aggregation went untested", tr.batches.Load())
		}
		compareCounters(t, tr, start, "after appends")

		// Purge the records before the middle of an hour: that hour's
		// counters must lose exactly the purged part.
		cut := start.Add(30*time.Hour + 17*time.Minute)
		purged, err := tr.Purge(ctx, cut)
		if err != nil || purged == 0 {
			t.Fatalf("purge: %d, %v", purged, err)
		}
		compareCounters(t, tr, start, "after purge")

		// The upgrade migration computes the same counters from the records.
		fill, err := os.ReadFile("../store/migrations/0605_audit_hourly_one.sql")
		if err != nil {
			t.Fatal(err)
		}
		before := hourRows(t, db)
		if len(before) == 0 {
			t.Fatal("no counters after the purge")
		}
		// The migration drops the counter tables of 0601: give it them.
		if _, err := db.ExecContext(ctx, `DROP TABLE audit_hourly;
			CREATE TABLE audit_hourly (hour_ms BIGINT); CREATE TABLE audit_hourly_latency (hour_ms BIGINT)`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, string(fill)); err != nil {
			t.Fatal(err)
		}
		if after := hourRows(t, db); !reflect.DeepEqual(before, after) {
			t.Fatalf("the fill migration's counters differ from the writer's:\n%v\n%v", before, after)
		}
		compareCounters(t, tr, start, "after the fill migration")
	})
}

type hourRow struct {
	key string
	n   int64
}

// hourRows lists the counters in a fixed order.
func hourRows(t *testing.T, db *store.DB) []hourRow {
	t.Helper()
	rows, err := db.Read().Query(`SELECT hour_ms || ' ' || tenant_id || ' ' || model || ' ' || upstream || ' ' ||
		input_action || ' ' || input_code || ' ' || output_action || ' ' || output_code || ' ' || outcome || ' ' ||
		le_ms, requests FROM audit_hourly ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []hourRow
	for rows.Next() {
		var r hourRow
		if err := rows.Scan(&r.key, &r.n); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
