package audit

import (
	"context"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

// TestSearchPlans checks on SQLite that the console's searches walk an
// index newest first instead of scanning or sorting the table: by decision
// or risk code the partial index of flagged records, by tenant the
// tenant's index; and that the flagged index finds the same records as
// the table.
func TestSearchPlans(t *testing.T) {
	db := storetest.Open(t, store.Options{DataDir: t.TempDir()})
	ctx := context.Background()
	for _, c := range []struct {
		q     Query
		index string
	}{
		{Query{Decision: "refuse", Newest: true}, "audit_records_flagged"},
		{Query{Code: "A2c", Requests: true, Newest: true}, "audit_records_flagged"},
		{Query{Decision: "mask", Code: "A4f", After: "01M936VX1S510SWVZYPEWXA8C2", Newest: true}, "audit_records_flagged"},
		{Query{TenantID: "t1", Requests: true, Newest: true}, "audit_records_tenant"},
	} {
		where, args, err := c.q.where()
		if err != nil {
			t.Fatal(err)
		}
		rows, err := db.Read().QueryContext(ctx, `EXPLAIN QUERY PLAN SELECT `+rowColumns+` FROM audit_records`+where+
			` ORDER BY seq DESC LIMIT 50`, args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		joined := strings.Join(plan, "; ")
		if !strings.Contains(joined, c.index) || strings.Contains(joined, "TEMP B-TREE") {
			t.Errorf("%+v: plan %q, want %s without a sort", c.q, joined, c.index)
		}
	}
}

// TestFlaggedSearchExact compares searches that use the flagged index
// with the same filters evaluated over every record.
func TestFlaggedSearchExact(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := newClock()
		tr := newTrail(t, db, Options{Now: clk.Now})
		start := clk.Now()
		for i := range 300 {
			mustAppend(t, tr, varied(i, start))
		}
		all, err := tr.Search(ctx, Query{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []Query{{Decision: "refuse"}, {Decision: "block"}, {Decision: "mask"}, {Code: "A1a"},
			{Code: "A2c", TenantID: "t0"}, {Decision: "refuse", Code: "A1a"}} {
			var want []string
			for _, e := range all {
				if (q.Decision == "" || e.Input.Action.String() == q.Decision || e.Output.Action.String() == q.Decision) &&
					(q.Code == "" || e.Input.Code == q.Code || e.Output.Code == q.Code) &&
					(q.TenantID == "" || e.TenantID == q.TenantID) {
					want = append(want, e.ID)
				}
			}
			var got []string
			for page := q; ; {
				page.Limit, page.Newest = 7, true
				es, err := tr.Search(ctx, page)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range es {
					got = append([]string{e.ID}, got...)
				}
				if len(es) < 7 {
					break
				}
				page.After = es[len(es)-1].ID
			}
			if len(want) == 0 || strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("%+v: %d records by pages newest first, want %d", q, len(got), len(want))
			}
		}
	})
}
