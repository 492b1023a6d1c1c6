package review

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Filter selects items. Zero fields match anything.
type Filter struct {
	State   string // StateOpen, StateDone; "" both
	Source  Source
	Tenant  string
	Code    string // a risk code among the machine's or the outcome's
	Overdue bool   // open items past their deadline
	Tenants []string
	// After pages on: the Cursor of the last item of the previous page.
	After string
	Limit int // default 50, at most 500

	Claimable bool // Next: only items the reviewer may claim now (set by Next)
	now       int64
}

// Cursor is an item's place in the queue's order, for Filter.After.
func (it *Item) Cursor() string { return strconv.FormatInt(ms(it.Due), 10) + "." + it.ID }

// where builds the WHERE clause after the args already given.
func (f Filter) where(args []any) (string, []any) {
	var conds []string
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if f.Claimable {
		conds = append(conds, claimable)
	}
	if f.State != "" {
		add("state = ?", f.State)
	}
	if f.Source != "" {
		add("source = ?", string(f.Source))
	}
	if f.Tenant != "" {
		add("tenant_id = ?", f.Tenant)
	}
	if len(f.Tenants) > 0 {
		var in []string
		for _, t := range f.Tenants {
			args = append(args, t)
			in = append(in, "$"+strconv.Itoa(len(args)))
		}
		conds = append(conds, "tenant_id IN ("+strings.Join(in, ", ")+")")
	}
	if f.Code != "" {
		args = append(args, "% "+f.Code+" %", f.Code)
		conds = append(conds, "(codes LIKE $"+strconv.Itoa(len(args)-1)+" OR outcome_code = $"+strconv.Itoa(len(args))+")")
	}
	if f.Overdue {
		add("state = 'open' AND due_ms < ?", f.now)
	}
	if due, id, ok := strings.Cut(f.After, "."); ok {
		if d, err := strconv.ParseInt(due, 10, 64); err == nil {
			args = append(args, d, id)
			conds = append(conds, "(due_ms > $"+strconv.Itoa(len(args)-1)+" OR (due_ms = $"+strconv.Itoa(len(args)-1)+
				" AND id > $"+strconv.Itoa(len(args))+"))")
		}
	}
	if len(conds) == 0 {
		return "", args
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// List returns items matching f in the queue's order: deadline first.
func (q *Queue) List(ctx context.Context, f Filter) ([]Item, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	f.Limit = min(f.Limit, 500)
	f.now, f.Claimable = ms(q.opts.Now()), false
	where, args := f.where(nil)
	args = append(args, f.Limit)
	rows, err := q.db.Read().QueryContext(ctx, `SELECT `+itemColumns+` FROM review_items`+where+
		` ORDER BY due_ms, id LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("list review items: %w", err)
	}
	defer rows.Close()
	var out []Item
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return nil, fmt.Errorf("list review items: %w", err)
		}
		out = append(out, *it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list review items: %w", err)
	}
	return out, nil
}

// CountCap bounds the counts of Counts: a queue deeper than this shows
// as "at least CountCap", and counting stays cheap however deep it is.
const CountCap = 10_000

// SourceCount is one source's open items.
type SourceCount struct {
	Source  Source
	Open    int       // at most CountCap
	Overdue int       // at most CountCap
	Oldest  time.Time // enqueued time of the oldest open item; zero when none
	SLA     time.Duration
}

// Counts returns the open and overdue items of each source: the desk's
// service-level timers.
func (q *Queue) Counts(ctx context.Context) ([]SourceCount, error) {
	now := ms(q.opts.Now())
	out := make([]SourceCount, 0, len(Sources))
	for _, s := range Sources {
		c := SourceCount{Source: s, SLA: q.opts.SLA[s]}
		// Three index reads, the counts capped: a sum over the rows would
		// read 250,000 of them per source in a queue of a million.
		var oldest *int64
		db := q.db.Read()
		err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM review_items WHERE source = $1 AND state = 'open'
			LIMIT $2) x`, string(s), CountCap+1).Scan(&c.Open)
		if err == nil {
			err = db.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM review_items WHERE source = $1 AND state = 'open'
				AND due_ms < $2 LIMIT $3) x`, string(s), now, CountCap+1).Scan(&c.Overdue)
		}
		c.Open, c.Overdue = min(c.Open, CountCap), min(c.Overdue, CountCap)
		if err == nil {
			err = db.QueryRowContext(ctx, `SELECT MIN(enqueued_ms) FROM review_items WHERE source = $1 AND state = 'open'`,
				string(s)).Scan(&oldest)
		}
		if err != nil {
			return nil, fmt.Errorf("count review items: %w", err)
		}
		if oldest != nil {
			c.Oldest = fromMs(*oldest)
		}
		out = append(out, c)
	}
	return out, nil
}
