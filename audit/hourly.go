package audit

import (
	"context"
	"database/sql"
	"fmt"
)

// Hourly counters (tables audit_hourly and audit_hourly_latency): the
// dashboard's figures per hour, kept beside the chain. The writer adds each
// batch's records to them in the batch's transaction and Purge takes the
// purged records off in the purge's transaction, so at every commit they
// equal a count over the records (a test compares the two on both
// databases, before and after a purge). Staff actions are not counted.

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

// hourKey is one row of audit_hourly.
type hourKey struct {
	hour                        int64
	tenant, model, upstream     string
	inAction, inCode            string
	outAction, outCode, outcome string
}

// latencyKey is one row of audit_hourly_latency.
type latencyKey struct {
	hour   int64
	tenant string
	le     int64
}

const (
	upsertHourlySQL = `INSERT INTO audit_hourly (hour_ms, tenant_id, model, upstream, input_action, input_code,
		output_action, output_code, outcome, requests) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (hour_ms, tenant_id, model, upstream, input_action, input_code, output_action, output_code, outcome)
		DO UPDATE SET requests = audit_hourly.requests + excluded.requests`
	upsertLatencySQL = `INSERT INTO audit_hourly_latency (hour_ms, tenant_id, le_ms, requests) VALUES ($1, $2, $3, $4)
		ON CONFLICT (hour_ms, tenant_id, le_ms) DO UPDATE SET requests = audit_hourly_latency.requests + excluded.requests`
)

// counted reports whether a row is counted: staff actions are not.
func (r *row) counted() bool { return r.route != RouteStaff }

func (r *row) hourKey() hourKey {
	return hourKey{hour: hourOf(r.timeMs), tenant: r.tenantID, model: r.model, upstream: r.upstream,
		inAction: r.inAction, inCode: r.inCode, outAction: r.outAction, outCode: r.outCode, outcome: r.outcome}
}

// count adds the records of batch to the hourly counters, one upsert per
// distinct counter (a batch of one hour's traffic touches few).
func (t *Trail) count(ctx context.Context, tx *sql.Tx, batch []*pending) error {
	hours := map[hourKey]int64{}
	lat := map[latencyKey]int64{}
	for _, p := range batch {
		r := p.row
		if !r.counted() {
			continue
		}
		hours[r.hourKey()]++
		if r.outcome != OutcomeRejected {
			lat[latencyKey{hourOf(r.timeMs), r.tenantID, latencyBound(r.totalMs)}]++
		}
	}
	for k, n := range hours {
		if _, err := t.stmts.exec(ctx, tx, upsertHourlySQL, k.hour, k.tenant, k.model, k.upstream,
			k.inAction, k.inCode, k.outAction, k.outCode, k.outcome, n); err != nil {
			return fmt.Errorf("count records: %w", err)
		}
	}
	for k, n := range lat {
		if _, err := t.stmts.exec(ctx, tx, upsertLatencySQL, k.hour, k.tenant, k.le, n); err != nil {
			return fmt.Errorf("count latency: %w", err)
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
	lat := map[latencyKey]int64{}
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.timeMs, &r.tenantID, &r.model, &r.upstream, &r.inAction, &r.inCode,
			&r.outAction, &r.outCode, &r.outcome, &r.totalMs); err != nil {
			rows.Close()
			return fmt.Errorf("uncount records: %w", err)
		}
		hours[r.hourKey()]++
		if r.outcome != OutcomeRejected {
			lat[latencyKey{hourOf(r.timeMs), r.tenantID, latencyBound(r.totalMs)}]++
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("uncount records: %w", err)
	}
	for k, n := range hours {
		if _, err := tx.ExecContext(ctx, `UPDATE audit_hourly SET requests = requests - $1
			WHERE hour_ms = $2 AND tenant_id = $3 AND model = $4 AND upstream = $5 AND input_action = $6
			AND input_code = $7 AND output_action = $8 AND output_code = $9 AND outcome = $10`,
			n, k.hour, k.tenant, k.model, k.upstream, k.inAction, k.inCode, k.outAction, k.outCode, k.outcome); err != nil {
			return fmt.Errorf("uncount records: %w", err)
		}
	}
	for k, n := range lat {
		if _, err := tx.ExecContext(ctx, `UPDATE audit_hourly_latency SET requests = requests - $1
			WHERE hour_ms = $2 AND tenant_id = $3 AND le_ms = $4`, n, k.hour, k.tenant, k.le); err != nil {
			return fmt.Errorf("uncount latency: %w", err)
		}
	}
	for _, table := range []string{"audit_hourly", "audit_hourly_latency"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE requests <= 0`); err != nil {
			return fmt.Errorf("uncount: %w", err)
		}
	}
	return nil
}
