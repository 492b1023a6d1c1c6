package audit

import (
	"context"
	"database/sql"
	"fmt"
)

// Hourly counters (table audit_hourly): the dashboard's figures per hour,
// kept beside the chain. The writer adds each batch's records to them in
// the batch's transaction and Purge takes the purged records off in the
// purge's transaction, so at every commit they equal a count over the
// records (a test compares the two on both databases, before and after a
// purge). Staff actions are not counted. One table holds both the counts
// and the latency histogram (the bin is part of the key), so that a batch
// upserts one table: each table a commit changes is a page written.

const hourMs = 3_600_000

// hourOf is the start of the hour of a record time, as the SQL of the
// counters computes it (time_ms - time_ms % 3600000).
func hourOf(ms int64) int64 { return ms - ms%hourMs }

// latencyBound is the upper bound of the latency bin ms falls in.
func latencyBound(ms int64) int64 {
	for _, ub := range latencyBins {
		if ms <= ub {
			return ub
		}
	}
	return latencyBins[len(latencyBins)-1]
}

// hourKey is one row of audit_hourly: le is the latency bin's upper bound,
// 0 for a request rejected before review (left out of the histogram).
type hourKey struct {
	hour                        int64
	tenant, model, upstream     string
	inAction, inCode            string
	outAction, outCode, outcome string
	le                          int64
}

const upsertHourlySQL = `INSERT INTO audit_hourly (hour_ms, tenant_id, model, upstream, input_action, input_code,
	output_action, output_code, outcome, le_ms, requests) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
	ON CONFLICT (hour_ms, tenant_id, model, upstream, input_action, input_code, output_action, output_code, outcome, le_ms)
	DO UPDATE SET requests = audit_hourly.requests + excluded.requests`

// counted reports whether a row is counted: staff actions are not.
func (r *row) counted() bool { return r.route != RouteStaff }

func (r *row) hourKey() hourKey {
	k := hourKey{hour: hourOf(r.timeMs), tenant: r.tenantID, model: r.model, upstream: r.upstream,
		inAction: r.inAction, inCode: r.inCode, outAction: r.outAction, outCode: r.outCode, outcome: r.outcome}
	if r.outcome != OutcomeRejected {
		k.le = latencyBound(r.totalMs)
	}
	return k
}

// count adds the records of batch to the hourly counters, one upsert per
// distinct counter (a batch of one hour's traffic touches few).
func (t *Trail) count(ctx context.Context, tx *sql.Tx, batch []*pending) error {
	hours := map[hourKey]int64{}
	for _, p := range batch {
		if p.row.counted() {
			hours[p.row.hourKey()]++
		}
	}
	for k, n := range hours {
		if _, err := t.stmts.exec(ctx, tx, upsertHourlySQL, k.hour, k.tenant, k.model, k.upstream,
			k.inAction, k.inCode, k.outAction, k.outCode, k.outcome, k.le, n); err != nil {
			return fmt.Errorf("count records: %w", err)
		}
	}
	return nil
}

// uncount takes the records with seq up to last off the hourly counters
// (before Purge deletes them, in its transaction), and drops counters that
// reach zero.
func uncount(ctx context.Context, tx *sql.Tx, from, last int64) error {
	rows, err := tx.QueryContext(ctx, `SELECT time_ms, tenant_id, model, upstream, input_action, input_code,
		output_action, output_code, outcome, total_ms FROM audit_records
		WHERE seq > $1 AND seq <= $2 AND route <> $3`, from, last, RouteStaff)
	if err != nil {
		return fmt.Errorf("uncount records: %w", err)
	}
	hours := map[hourKey]int64{}
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.timeMs, &r.tenantID, &r.model, &r.upstream, &r.inAction, &r.inCode,
			&r.outAction, &r.outCode, &r.outcome, &r.totalMs); err != nil {
			rows.Close()
			return fmt.Errorf("uncount records: %w", err)
		}
		hours[r.hourKey()]++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("uncount records: %w", err)
	}
	for k, n := range hours {
		if _, err := tx.ExecContext(ctx, `UPDATE audit_hourly SET requests = requests - $1
			WHERE hour_ms = $2 AND tenant_id = $3 AND model = $4 AND upstream = $5 AND input_action = $6
			AND input_code = $7 AND output_action = $8 AND output_code = $9 AND outcome = $10 AND le_ms = $11`,
			n, k.hour, k.tenant, k.model, k.upstream, k.inAction, k.inCode, k.outAction, k.outCode, k.outcome, k.le); err != nil {
			return fmt.Errorf("uncount records: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM audit_hourly WHERE requests <= 0`); err != nil {
		return fmt.Errorf("uncount: %w", err)
	}
	return nil
}
