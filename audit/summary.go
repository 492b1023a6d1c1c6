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

// latencyBins are the histogram's upper bounds in milliseconds.
var latencyBins = []int64{5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 1 << 40}

// Summary counts the requests between q.From and q.To in one pass per
// breakdown, each a GROUP BY over the time index.
func (t *Trail) Summary(ctx context.Context, q SummaryQuery) (*Summary, error) {
	if q.Buckets <= 0 {
		q.Buckets = 24
	}
	if !q.From.Before(q.To) || q.Buckets > 500 {
		return nil, fmt.Errorf("audit summary: want From before To and at most 500 buckets")
	}
	from, to := q.From.UnixMilli(), q.To.UnixMilli()
	width := max((to-from+int64(q.Buckets)-1)/int64(q.Buckets), 1)
	where := ` FROM audit_records WHERE time_ms >= $1 AND time_ms < $2 AND route <> '` + RouteStaff + `'`
	args := []any{from, to}
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
	db := t.db.Read()
	bargs := append(append([]any{}, args...), width)
	rows, err := db.QueryContext(ctx, `SELECT (time_ms - $1) / $`+strconv.Itoa(len(bargs))+` AS b, COUNT(*),
		SUM(CASE WHEN input_action = 'refuse' OR output_action = 'refuse' THEN 1 ELSE 0 END),
		SUM(CASE WHEN input_action = 'mask' OR output_action = 'mask' THEN 1 ELSE 0 END),
		SUM(CASE WHEN input_action = 'block' OR output_action = 'block' THEN 1 ELSE 0 END),
		SUM(CASE WHEN outcome = 'rejected' THEN 1 ELSE 0 END),
		SUM(CASE WHEN outcome IN ('upstream_error', 'stream_failed') THEN 1 ELSE 0 END)`+
		where+` GROUP BY b`, bargs...)
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
	if err := t.summaryCodes(ctx, s, where, args); err != nil {
		return nil, err
	}
	if err := t.summaryUpstreams(ctx, s, where, args); err != nil {
		return nil, err
	}
	return s, t.summaryLatency(ctx, s, where, args)
}

func (t *Trail) summaryCodes(ctx context.Context, s *Summary, where string, args []any) error {
	counts := map[string]int64{}
	for _, col := range []string{"input_code", "output_code"} {
		rows, err := t.db.Read().QueryContext(ctx, `SELECT `+col+`, COUNT(*)`+where+` AND `+col+` <> '' GROUP BY `+col, args...)
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

func (t *Trail) summaryUpstreams(ctx context.Context, s *Summary, where string, args []any) error {
	rows, err := t.db.Read().QueryContext(ctx, `SELECT upstream, COUNT(*),
		SUM(CASE WHEN outcome IN ('upstream_error', 'stream_failed') THEN 1 ELSE 0 END)`+where+
		` AND upstream <> '' GROUP BY upstream`, args...)
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
	sort.Slice(s.Upstreams, func(i, j int) bool { return s.Upstreams[i].Requests > s.Upstreams[j].Requests })
	return rows.Err()
}

func (t *Trail) summaryLatency(ctx context.Context, s *Summary, where string, args []any) error {
	var cases strings.Builder
	cases.WriteString("CASE")
	for i, ub := range latencyBins[:len(latencyBins)-1] {
		fmt.Fprintf(&cases, " WHEN total_ms <= %d THEN %d", ub, i)
	}
	fmt.Fprintf(&cases, " ELSE %d END", len(latencyBins)-1)
	rows, err := t.db.Read().QueryContext(ctx, `SELECT `+cases.String()+` AS bin, COUNT(*)`+where+
		` AND outcome NOT IN ('rejected') GROUP BY bin`, args...)
	if err != nil {
		return fmt.Errorf("audit summary latency: %w", err)
	}
	defer rows.Close()
	hist := make([]int64, len(latencyBins))
	var total int64
	for rows.Next() {
		var bin, n int64
		if err := rows.Scan(&bin, &n); err != nil {
			return fmt.Errorf("audit summary latency: %w", err)
		}
		hist[bin] += n
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
