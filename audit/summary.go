package audit

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// SummaryQuery selects the requests a Summary counts.
type SummaryQuery struct {
	From, To time.Time // required; To exclusive
	// Buckets is the number of equal time slices between From and To.
	// Default 24, at most 500.
	Buckets int
	// TenantIDs, when set, counts only these tenants.
	TenantIDs []string
}

// Bucket counts the requests of one time slice.
type Bucket struct {
	Start    time.Time `json:"start"`
	Requests int64     `json:"requests"`
	Refused  int64     `json:"refused"` // input or output refused (safe reply, content_filter)
	Masked   int64     `json:"masked"`
	Blocked  int64     `json:"blocked"`
	Rejected int64     `json:"rejected"` // refused before review: auth, limits, sanctions
	Errors   int64     `json:"errors"`   // upstream errors and failed streams
}

// CodeTotal is how often a risk code decided a request.
type CodeTotal struct {
	Code  string `json:"code"`
	Count int64  `json:"count"`
}

// UpstreamTotal is an upstream's requests and failures.
type UpstreamTotal struct {
	Upstream string `json:"upstream"`
	Requests int64  `json:"requests"`
	Errors   int64  `json:"errors"`
}

// Summary is what a dashboard shows of a time range, computed from the
// audit records (staff actions left out).
type Summary struct {
	From, To  time.Time
	Buckets   []Bucket
	Total     Bucket
	Codes     []CodeTotal     // by count, highest first
	Upstreams []UpstreamTotal // by requests, highest first
	// Latency percentiles of the whole request in milliseconds (p50, p90,
	// p99), from a histogram: each is the upper bound of its bin.
	P50, P90, P99 int64
}

// latencyBins are the histogram's upper bounds in milliseconds
// (0605_audit_hourly_one.sql repeats them).
var latencyBins = []int64{5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 1 << 40}

// summarySource is where a Summary counts: the hourly counters, or the
// records themselves. Both answer the same queries: weight is what one row
// counts for, le the latency bin's upper bound.
type summarySource struct {
	table, timeCol, weight string
	cond                   string // ANDed to the WHERE clause
	latTable, le, latCond  string
}

// fromCounters reads the hourly counters. Requests rejected before review
// have le_ms 0 there and are left out of the histogram, as over the
// records.
var fromCounters = summarySource{table: "audit_hourly", timeCol: "hour_ms", weight: "requests",
	latTable: "audit_hourly", le: "le_ms", latCond: ` AND outcome <> '` + OutcomeRejected + `'`}

// fromRecords reads the records: for ranges that do not fall on hours.
func fromRecords(q SummaryQuery) summarySource {
	var le strings.Builder
	le.WriteString("CASE")
	for _, ub := range latencyBins[:len(latencyBins)-1] {
		fmt.Fprintf(&le, " WHEN total_ms <= %d THEN %d", ub, ub)
	}
	fmt.Fprintf(&le, " ELSE %d END", latencyBins[len(latencyBins)-1])
	// A record id begins with its time (NewID): the id range uses the id index.
	cond := ` AND id >= '` + idFloor(q.From) + `' AND id < '` + idFloor(q.To) + `' AND route <> '` + RouteStaff + `'`
	return summarySource{table: "audit_records", timeCol: "time_ms", weight: "1", cond: cond,
		latTable: "audit_records", le: le.String(), latCond: cond + ` AND outcome <> '` + OutcomeRejected + `'`}
}

// Summary counts the requests between q.From and q.To. When From and the
// bucket width fall on whole hours it reads the hourly counters, which
// the writer keeps equal to a count over the records; otherwise (the last
// hour by minutes) it counts the records of the range.
func (t *Trail) Summary(ctx context.Context, q SummaryQuery) (*Summary, error) {
	if q.Buckets <= 0 {
		q.Buckets = 24
	}
	if !q.From.Before(q.To) || q.Buckets > 500 {
		return nil, fmt.Errorf("audit summary: want From before To and at most 500 buckets")
	}
	from, to := q.From.UnixMilli(), q.To.UnixMilli()
	width := max((to-from+int64(q.Buckets)-1)/int64(q.Buckets), 1)
	src := fromRecords(q)
	if from%hourMs == 0 && width%hourMs == 0 {
		src = fromCounters
	}
	return t.summary(ctx, q, src, width)
}

func (t *Trail) summary(ctx context.Context, q SummaryQuery, src summarySource, width int64) (*Summary, error) {
	from := q.From.UnixMilli()
	where := ` WHERE ` + src.timeCol + ` >= $1 AND ` + src.timeCol + ` < $2`
	args := []any{from, q.To.UnixMilli()}
	if len(q.TenantIDs) > 0 {
		var ph []string
		for _, id := range q.TenantIDs {
			args = append(args, id)
			ph = append(ph, "$"+strconv.Itoa(len(args)))
		}
		where += ` AND tenant_id IN (` + strings.Join(ph, ", ") + `)`
	}
	s := &Summary{From: q.From, To: q.To, Buckets: make([]Bucket, q.Buckets)}
	for i := range s.Buckets {
		s.Buckets[i].Start = time.UnixMilli(from + int64(i)*width).UTC()
	}
	sum := func(cond string) string {
		return `CAST(SUM(CASE WHEN ` + cond + ` THEN ` + src.weight + ` ELSE 0 END) AS BIGINT)`
	}
	bargs := append(append([]any{}, args...), width)
	rows, err := t.db.Read().QueryContext(ctx, `SELECT (`+src.timeCol+` - $1) / $`+strconv.Itoa(len(bargs))+` AS b,
		CAST(SUM(`+src.weight+`) AS BIGINT), `+
		sum(`input_action = 'refuse' OR output_action = 'refuse'`)+`, `+
		sum(`input_action = 'mask' OR output_action = 'mask'`)+`, `+
		sum(`input_action = 'block' OR output_action = 'block'`)+`, `+
		sum(`outcome = 'rejected'`)+`, `+
		sum(`outcome IN ('upstream_error', 'stream_failed')`)+
		` FROM `+src.table+where+src.cond+` GROUP BY b`, bargs...)
	if err != nil {
		return nil, fmt.Errorf("audit summary: %w", err)
	}
	for rows.Next() {
		var i int64
		var b Bucket
		if err := rows.Scan(&i, &b.Requests, &b.Refused, &b.Masked, &b.Blocked, &b.Rejected, &b.Errors); err != nil {
			rows.Close()
			return nil, fmt.Errorf("audit summary: %w", err)
		}
		if i >= 0 && i < int64(len(s.Buckets)) {
			b.Start = s.Buckets[i].Start
			s.Buckets[i] = b
		}
		s.Total.Requests += b.Requests
		s.Total.Refused += b.Refused
		s.Total.Masked += b.Masked
		s.Total.Blocked += b.Blocked
		s.Total.Rejected += b.Rejected
		s.Total.Errors += b.Errors
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit summary: %w", err)
	}
	if err := t.summaryCodes(ctx, s, src, where, args); err != nil {
		return nil, err
	}
	if err := t.summaryUpstreams(ctx, s, src, where, args); err != nil {
		return nil, err
	}
	return s, t.summaryLatency(ctx, s, src, where, args)
}

func (t *Trail) summaryCodes(ctx context.Context, s *Summary, src summarySource, where string, args []any) error {
	counts := map[string]int64{}
	for _, col := range []string{"input_code", "output_code"} {
		rows, err := t.db.Read().QueryContext(ctx, `SELECT `+col+`, CAST(SUM(`+src.weight+`) AS BIGINT) FROM `+src.table+
			where+src.cond+` AND `+col+` <> '' GROUP BY `+col, args...)
		if err != nil {
			return fmt.Errorf("audit summary codes: %w", err)
		}
		for rows.Next() {
			var code string
			var n int64
			if err := rows.Scan(&code, &n); err != nil {
				rows.Close()
				return fmt.Errorf("audit summary codes: %w", err)
			}
			counts[code] += n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("audit summary codes: %w", err)
		}
	}
	for code, n := range counts {
		s.Codes = append(s.Codes, CodeTotal{Code: code, Count: n})
	}
	sort.Slice(s.Codes, func(i, j int) bool {
		if s.Codes[i].Count != s.Codes[j].Count {
			return s.Codes[i].Count > s.Codes[j].Count
		}
		return s.Codes[i].Code < s.Codes[j].Code
	})
	return nil
}

func (t *Trail) summaryUpstreams(ctx context.Context, s *Summary, src summarySource, where string, args []any) error {
	rows, err := t.db.Read().QueryContext(ctx, `SELECT upstream, CAST(SUM(`+src.weight+`) AS BIGINT),
		CAST(SUM(CASE WHEN outcome IN ('upstream_error', 'stream_failed') THEN `+src.weight+` ELSE 0 END) AS BIGINT)
		FROM `+src.table+where+src.cond+` AND upstream <> '' GROUP BY upstream`, args...)
	if err != nil {
		return fmt.Errorf("audit summary upstreams: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var u UpstreamTotal
		if err := rows.Scan(&u.Upstream, &u.Requests, &u.Errors); err != nil {
			return fmt.Errorf("audit summary upstreams: %w", err)
		}
		s.Upstreams = append(s.Upstreams, u)
	}
	sort.Slice(s.Upstreams, func(i, j int) bool {
		if s.Upstreams[i].Requests != s.Upstreams[j].Requests {
			return s.Upstreams[i].Requests > s.Upstreams[j].Requests
		}
		return s.Upstreams[i].Upstream < s.Upstreams[j].Upstream
	})
	return rows.Err()
}

func (t *Trail) summaryLatency(ctx context.Context, s *Summary, src summarySource, where string, args []any) error {
	rows, err := t.db.Read().QueryContext(ctx, `SELECT `+src.le+` AS le, CAST(SUM(`+src.weight+`) AS BIGINT) FROM `+
		src.latTable+where+src.latCond+` GROUP BY le`, args...)
	if err != nil {
		return fmt.Errorf("audit summary latency: %w", err)
	}
	defer rows.Close()
	hist := make([]int64, len(latencyBins))
	var total int64
	for rows.Next() {
		var le, n int64
		if err := rows.Scan(&le, &n); err != nil {
			return fmt.Errorf("audit summary latency: %w", err)
		}
		i := sort.Search(len(latencyBins), func(i int) bool { return latencyBins[i] >= le })
		hist[min(i, len(hist)-1)] += n
		total += n
	}
	if err := rows.Err(); err != nil || total == 0 {
		return err
	}
	pct := func(p float64) int64 {
		need, seen := int64(float64(total)*p+0.5), int64(0)
		for i, n := range hist {
			if seen += n; seen >= max(need, 1) {
				return latencyBins[i]
			}
		}
		return latencyBins[len(latencyBins)-1]
	}
	s.P50, s.P90, s.P99 = pct(0.5), pct(0.9), pct(0.99)
	return nil
}
