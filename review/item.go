package review

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/safety"
	"github.com/firebreak/firebreak/store"
)

// Item is one thing to review.
type Item struct {
	ID            string    `json:"id"`
	Source        Source    `json:"source"`
	Ref           string    `json:"ref"` // the audit record, complaint or appeal it is about
	State         string    `json:"state"`
	Stage         int       `json:"stage"`
	TenantID      string    `json:"tenant_id"`
	EndUser       string    `json:"end_user"`
	RecordID      string    `json:"record_id,omitempty"` // the exchange's audit record
	Route         string    `json:"route"`
	Codes         []string  `json:"codes"` // the machine's risk codes
	PolicyVersion string    `json:"policy_version"`
	Reason        string    `json:"reason"` // why it is in the queue
	ExchangeAt    time.Time `json:"exchange_at"`
	EnqueuedAt    time.Time `json:"enqueued_at"`
	Due           time.Time `json:"due"`
	Reviewers     []string  `json:"reviewers,omitempty"` // staff ids that decided it so far
	LeaseOwner    string    `json:"lease_owner,omitempty"`
	LeaseUntil    time.Time `json:"lease_until,omitzero"`
	Outcome       Verdict   `json:"outcome,omitempty"`
	OutcomeCode   string    `json:"outcome_code,omitempty"`
	Effect        Effect    `json:"effect,omitzero"`
	DecidedAt     time.Time `json:"decided_at,omitzero"`
}

// Overdue reports whether an open item is past its deadline at now.
func (it *Item) Overdue(now time.Time) bool { return it.State == StateOpen && now.After(it.Due) }

// Leased reports whether someone holds the item at now.
func (it *Item) Leased(now time.Time) bool { return it.LeaseOwner != "" && now.Before(it.LeaseUntil) }

// Waited is how long the item has been in the queue at now (until its
// decision once decided).
func (it *Item) Waited(now time.Time) time.Duration {
	if !it.DecidedAt.IsZero() {
		return it.DecidedAt.Sub(it.EnqueuedAt)
	}
	return now.Sub(it.EnqueuedAt)
}

const itemColumns = `id, source, ref, state, stage, tenant_id, end_user, record_id, route, codes,
	policy_version, reason, exchange_ms, enqueued_ms, due_ms, reviewers, lease_owner, lease_until,
	outcome, outcome_code, effect, decided_ms`

func scanItem(sc interface{ Scan(...any) error }) (*Item, error) {
	var it Item
	var codes, reviewers, effect string
	var exchange, enqueued, due, lease int64
	var decided sql.NullInt64
	err := sc.Scan(&it.ID, &it.Source, &it.Ref, &it.State, &it.Stage, &it.TenantID, &it.EndUser, &it.RecordID,
		&it.Route, &codes, &it.PolicyVersion, &it.Reason, &exchange, &enqueued, &due, &reviewers, &it.LeaseOwner,
		&lease, &it.Outcome, &it.OutcomeCode, &effect, &decided)
	if err != nil {
		return nil, err
	}
	it.Codes, it.Reviewers = splitList(codes), splitList(reviewers)
	it.ExchangeAt, it.EnqueuedAt, it.Due, it.LeaseUntil = fromMs(exchange), fromMs(enqueued), fromMs(due), fromMs(lease)
	if decided.Valid {
		it.DecidedAt = fromMs(decided.Int64)
	}
	if effect != "" {
		if err := json.Unmarshal([]byte(effect), &it.Effect); err != nil {
			return nil, fmt.Errorf("item %s effect: %w", it.ID, err)
		}
	}
	return &it, nil
}

// Get returns one item, or an error matching store.ErrNotFound.
func (q *Queue) Get(ctx context.Context, id string) (*Item, error) {
	it, err := scanItem(q.db.QueryRowContext(ctx, `SELECT `+itemColumns+` FROM review_items WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.NotFound("review item " + id)
	}
	if err != nil {
		return nil, fmt.Errorf("get review item: %w", err)
	}
	return it, nil
}

// entry is what enqueue writes.
type entry struct {
	source         Source
	ref            string
	tenant, user   string
	record, route  string
	codes          []string
	policy, reason string
	exchange       time.Time
	due            time.Time // a deadline of its own, if earlier than the SLA's
}

// execer runs a statement: the database, or a transaction.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// enqueue adds an item unless one of the same source and ref exists; it
// reports whether it added one.
func (q *Queue) enqueue(ctx context.Context, e entry) (bool, error) {
	return q.enqueueOn(ctx, q.db, e)
}

// enqueueOn is enqueue on ex.
func (q *Queue) enqueueOn(ctx context.Context, ex execer, e entry) (bool, error) {
	now := q.opts.Now().UTC()
	due := now.Add(q.opts.SLA[e.source])
	if !e.due.IsZero() && e.due.Before(due) {
		due = e.due
	}
	if e.exchange.IsZero() {
		e.exchange = now
	}
	res, err := ex.ExecContext(ctx, `INSERT INTO review_items (id, source, ref, state, stage, tenant_id, end_user,
		record_id, route, codes, policy_version, reason, exchange_ms, enqueued_ms, due_ms)
		VALUES ($1, $2, $3, 'open', 1, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
		ON CONFLICT (source, ref) DO NOTHING`,
		newID("rv_"), string(e.source), e.ref, e.tenant, e.user, e.record, e.route, codeList(e.codes),
		e.policy, e.reason, ms(e.exchange), ms(now), ms(due))
	if err != nil {
		return false, fmt.Errorf("enqueue %s %s: %w", e.source, e.ref, err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// recordCodes lists the risk codes of a record's decisions, once each.
func recordCodes(rec *audit.Record) []string {
	var out []string
	for _, d := range []audit.Decision{rec.Input, rec.Output} {
		if d.Code != "" {
			out = append(out, d.Code)
		}
		for _, h := range d.Hits {
			if h.Code != "" {
				out = append(out, h.Code)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// wantsReview reports whether review sent rec to a person.
func wantsReview(rec *audit.Record) bool {
	return rec.Input.Action == safety.Review || rec.Output.Action == safety.Review
}

// EnqueueRecord queues a recorded exchange from source (SourceReview or
// SourceSample). A record already queued from that source is not added
// twice.
func (q *Queue) EnqueueRecord(ctx context.Context, rec audit.Record, source Source) error {
	if source != SourceReview && source != SourceSample {
		return fmt.Errorf("enqueue record: source %q", source)
	}
	if rec.ID == "" {
		return errors.New("enqueue record: the record has no id")
	}
	reason := "sample"
	if source == SourceReview {
		reason = "action=review"
		for _, d := range []struct {
			dir string
			d   audit.Decision
		}{{"input", rec.Input}, {"output", rec.Output}} {
			if d.d.Action == safety.Review {
				reason = "action=review direction=" + d.dir
				if d.d.Code != "" {
					reason += " code=" + d.d.Code
				}
				break
			}
		}
	}
	_, err := q.enqueue(ctx, entry{source: source, ref: rec.ID, tenant: rec.TenantID, user: rec.EndUser,
		record: rec.ID, route: rec.Model, codes: recordCodes(&rec), policy: rec.PolicyVersion, reason: reason,
		exchange: rec.Time})
	return err
}

// EnqueueComplaint queues a complaint; its deadline bounds the item's.
// It implements audit.Enqueuer.
func (q *Queue) EnqueueComplaint(ctx context.Context, c audit.Complaint) error {
	e := entry{source: SourceComplaint, ref: c.ID, tenant: c.TenantID, user: c.EndUser, reason: "complaint category=" + c.Category,
		exchange: c.Time, due: c.Deadline}
	if c.RequestID != "" {
		if rec, ok := q.recordOf(ctx, c.TenantID, c.RequestID); ok {
			e.record, e.route, e.codes, e.policy = rec.ID, rec.Model, recordCodes(&rec.Record), rec.PolicyVersion
			if e.user == "" {
				e.user = rec.EndUser
			}
			e.exchange = rec.Time
		}
	}
	_, err := q.enqueue(ctx, e)
	return err
}

var _ audit.Enqueuer = (*Queue)(nil)

// recordOf finds the audit record of a request id (the id the client saw)
// or of an audit record id, in one tenant: a complaint names an id its
// app chose, and the item shows that record's content to the tenant's
// reviewers and strikes its end user.
func (q *Queue) recordOf(ctx context.Context, tenantID, id string) (audit.Entry, bool) {
	if q.opts.Trail == nil || tenantID == "" {
		return audit.Entry{}, false
	}
	es, err := q.opts.Trail.Search(ctx, audit.Query{TenantID: tenantID, RequestID: id, Limit: 1})
	if err == nil && len(es) == 1 && es[0].Route != audit.RouteStaff {
		return es[0], true
	}
	if e, err := q.opts.Trail.Content(ctx, id); err == nil && e.Route != audit.RouteStaff && e.TenantID == tenantID {
		e.Content = audit.Content{}
		return e, true
	}
	return audit.Entry{}, false
}
