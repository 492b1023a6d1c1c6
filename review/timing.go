package review

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"
)

// Timing is one finding's way to its fix: when the exchange happened,
// entered the queue, was decided, when the policy version that took in a
// proposal from it was published, and when the last replica that put that
// version in force did so.
type Timing struct {
	ItemID    string
	Version   string
	Exchange  time.Time
	Queued    time.Time
	Decided   time.Time
	Published time.Time // zero: no fix published yet
	Enforced  time.Time // zero: no replica reported it
	Replicas  int       // replicas that put the version in force
}

// Spread is the distribution of one step's time from the exchange.
type Spread struct {
	Step          string // queued, decided, published, enforced
	N             int
	P50, P90, Max time.Duration
}

// Timings returns the findings decided in [from, to) (zero: unbounded)
// with their times, and the spread of each step measured from the
// exchange.
func (q *Queue) Timings(ctx context.Context, from, to time.Time) ([]Timing, []Spread, error) {
	hi := int64(1 << 62)
	if !to.IsZero() {
		hi = ms(to)
	}
	rows, err := q.db.Read().QueryContext(ctx, `SELECT i.id, i.exchange_ms, i.enqueued_ms, i.decided_ms,
		COALESCE(MIN(p.published_ms), 0), COALESCE(MIN(p.version), '')
		FROM review_items i LEFT JOIN review_proposals p ON p.item_id = i.id AND p.status = 'published'
		WHERE i.state = 'done' AND (i.outcome = 'violation' OR p.id IS NOT NULL) AND i.decided_ms >= $1 AND i.decided_ms < $2
		GROUP BY i.id, i.exchange_ms, i.enqueued_ms, i.decided_ms ORDER BY i.decided_ms`, ms(from), hi)
	if err != nil {
		return nil, nil, fmt.Errorf("review timings: %w", err)
	}
	var out []Timing
	for rows.Next() {
		var t Timing
		var ex, qd, dc, pub int64
		if err := rows.Scan(&t.ItemID, &ex, &qd, &dc, &pub, &t.Version); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("review timings: %w", err)
		}
		t.Exchange, t.Queued, t.Decided, t.Published = fromMs(ex), fromMs(qd), fromMs(dc), fromMs(pub)
		out = append(out, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("review timings: %w", err)
	}
	for i := range out {
		if out[i].Version == "" {
			continue
		}
		var last sql.NullInt64
		if err := q.db.Read().QueryRowContext(ctx, `SELECT MAX(time_ms), COUNT(*) FROM review_enforced WHERE version = $1`,
			out[i].Version).Scan(&last, &out[i].Replicas); err != nil {
			return nil, nil, fmt.Errorf("review timings: %w", err)
		}
		if last.Valid {
			out[i].Enforced = fromMs(max(last.Int64, ms(out[i].Published)))
		}
	}
	return out, spreads(out), nil
}

func spreads(ts []Timing) []Spread {
	steps := []struct {
		name string
		at   func(Timing) time.Time
	}{
		{"queued", func(t Timing) time.Time { return t.Queued }},
		{"decided", func(t Timing) time.Time { return t.Decided }},
		{"published", func(t Timing) time.Time { return t.Published }},
		{"enforced", func(t Timing) time.Time { return t.Enforced }},
	}
	var out []Spread
	for _, st := range steps {
		var ds []time.Duration
		for _, t := range ts {
			if at := st.at(t); !at.IsZero() {
				ds = append(ds, max(at.Sub(t.Exchange), 0))
			}
		}
		s := Spread{Step: st.name, N: len(ds)}
		if len(ds) > 0 {
			slices.Sort(ds)
			s.P50, s.P90, s.Max = quantile(ds, 0.5), quantile(ds, 0.9), ds[len(ds)-1]
		}
		out = append(out, s)
	}
	return out
}

// quantile is the nearest-rank quantile of sorted ds.
func quantile(ds []time.Duration, p float64) time.Duration {
	i := int(p*float64(len(ds))+0.999999) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}
