package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/firebreak/firebreak/safety"
	"github.com/firebreak/firebreak/store"
)

// Query selects records for Search and Export. Zero fields match anything.
type Query struct {
	From      time.Time // records at or after From
	To        time.Time // records before To
	ID        string    // one record
	TenantID  string
	EndUser   string
	RequestID string
	// Decision matches records where either direction's action is this one
	// ("allow", "mask", "review", "refuse", "block").
	Decision string
	Code     string // a risk code (A1a …) in either direction's decision or hits
	Outcome  string
	// Route matches one route: RouteStaff selects staff actions.
	Route string
	// Requests leaves staff actions out.
	Requests bool
	// Limit caps the records Search returns: default 100, at most 1000.
	// Export ignores it and writes every match.
	Limit int
	// After is the ID of the last record of the previous page; results
	// continue after it in chain order (before it when Newest).
	After string
	// Newest returns the newest records first.
	Newest bool
}

// flaggedPredicate is the condition of the index audit_records_flagged
// (0604_audit_search.sql), word for word: a record with a risk code or an
// action other than allow.
const flaggedPredicate = `(codes <> '' OR input_action NOT IN ('', 'allow') OR output_action NOT IN ('', 'allow'))`

const (
	defaultLimit = 100
	maxLimit     = 1000
)

// where builds the WHERE clause of q and its arguments.
func (q Query) where() (string, []any, error) {
	var conds []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	// A record id begins with its time (NewID): the id index serves time
	// ranges, and the time_ms condition keeps the answer exact.
	if !q.From.IsZero() {
		add("id >= ?", idFloor(q.From))
		add("time_ms >= ?", q.From.UnixMilli())
	}
	if !q.To.IsZero() {
		add("id < ?", idFloor(q.To))
		add("time_ms < ?", q.To.UnixMilli())
	}
	for _, f := range [...]struct{ col, v string }{{"id", q.ID}, {"tenant_id", q.TenantID}, {"end_user", q.EndUser},
		{"request_id", q.RequestID}, {"outcome", q.Outcome}, {"route", q.Route}} {
		if f.v != "" {
			add(f.col+" = ?", f.v)
		}
	}
	if q.Requests {
		add("route <> ?", RouteStaff)
	}
	if q.Decision != "" {
		if _, err := safety.ParseAction(q.Decision); err != nil {
			return "", nil, err
		}
		add("(input_action = ? OR output_action = ?)", q.Decision)
	}
	if q.Code != "" {
		if strings.ContainsAny(q.Code, " %_") {
			return "", nil, fmt.Errorf("risk code %q: want a code such as A1a", q.Code)
		}
		add("codes LIKE ?", "% "+q.Code+" %")
	}
	if q.Code != "" || (q.Decision != "" && q.Decision != safety.Allow.String()) {
		// Implied by the filters above; written out so that the partial
		// index of flagged records serves the search.
		conds = append(conds, flaggedPredicate)
	}
	if q.After != "" {
		cmp := ">"
		if q.Newest {
			cmp = "<"
		}
		add("seq "+cmp+" (SELECT seq FROM audit_records WHERE id = ?)", q.After)
	}
	if len(conds) == 0 {
		return "", args, nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args, nil
}

// Search returns the records matching q in chain order, without content.
func (t *Trail) Search(ctx context.Context, q Query) ([]Entry, error) {
	if q.Limit <= 0 {
		q.Limit = defaultLimit
	}
	q.Limit = min(q.Limit, maxLimit)
	out, err := search(ctx, t.db.Read(), q)
	if err != nil {
		return nil, fmt.Errorf("audit search: %w", err)
	}
	return out, nil
}

func search(ctx context.Context, db *sql.DB, q Query) ([]Entry, error) {
	where, args, err := q.where()
	if err != nil {
		return nil, err
	}
	args = append(args, q.Limit)
	order := " ORDER BY seq"
	if q.Newest {
		order += " DESC"
	}
	rows, err := db.QueryContext(ctx, `SELECT `+rowColumns+` FROM audit_records`+where+
		order+` LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		r, err := scanRow(rows)
		if err != nil {
			return nil, err
		}
		e, err := r.entry()
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// ExportUser returns every record of one end user with its content
// decrypted where the keyring holds the key (Art. 11 access request).
// Content that was hashed, erased or sealed with a retired key stays empty;
// Entry.Stored says which.
func (t *Trail) ExportUser(ctx context.Context, tenantID, endUser string) ([]Entry, error) {
	if tenantID == "" || endUser == "" {
		return nil, errors.New("audit export user: tenant and end user are required")
	}
	rows, err := t.db.Read().QueryContext(ctx, `SELECT `+rowColumns+` FROM audit_records
		WHERE tenant_id = $1 AND end_user = $2 ORDER BY seq`, tenantID, endUser)
	if err != nil {
		return nil, fmt.Errorf("audit export user: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		r, err := scanRow(rows)
		if err != nil {
			return nil, fmt.Errorf("audit export user: %w", err)
		}
		e, err := r.entry()
		if err != nil {
			return nil, fmt.Errorf("audit export user: %w", err)
		}
		if e.Stored.Mode == ModeEncrypted && t.opts.Keys != nil {
			if c, err := openContent(r.content, t.opts.Keys, r.id); err == nil {
				e.Content = c
			} else if !errors.Is(err, ErrUnknownKey) {
				return nil, fmt.Errorf("audit export user: record %s: %w", r.id, err)
			}
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit export user: %w", err)
	}
	return out, nil
}

// ForgetUser erases the stored content (hashes or ciphertext) of every
// record of one end user (Art. 11 deletion request) and returns how many
// records it erased. The records themselves stay: the record hash covers
// only the content's digest, so the chain still verifies, and the digest
// alone reveals nothing (it hashes a random salt or a random nonce with the
// content). The erasure is then recorded as actor's action (ActionErase,
// its target the end user), after the records it erased: Verify holds
// every erased record to such a record, so content emptied by hand in the
// database is found.
func (t *Trail) ForgetUser(ctx context.Context, tenantID, endUser, actor string) (int64, error) {
	if tenantID == "" || endUser == "" {
		return 0, errors.New("audit forget user: tenant and end user are required")
	}
	now := t.opts.Now()
	res, err := t.db.ExecContext(ctx, `UPDATE audit_records SET content = '', content_erased_at = $1
		WHERE tenant_id = $2 AND end_user = $3 AND content <> ''`,
		now.UnixMilli(), tenantID, endUser)
	if err != nil {
		return 0, fmt.Errorf("audit forget user: %w", err)
	}
	n, _ := res.RowsAffected()
	act := Action{Time: now, Actor: actor, Name: ActionErase, Target: endUser, TenantID: tenantID,
		Status: 200, Outcome: OutcomeOK, Details: []string{"records=" + strconv.FormatInt(n, 10)}}
	if err := t.Append(ctx, act.Record()); err != nil {
		return n, fmt.Errorf("audit forget user: record the erasure: %w", err)
	}
	return n, nil
}

// Lookup returns the record with the given id, with its content decrypted
// when it was sealed with a key keys holds (nil keys: no content). It
// reads db directly, without a Trail: the offline label commands use it.
// A missing record is store.ErrNotFound.
func Lookup(ctx context.Context, db *store.DB, id string, keys *Keyring) (Entry, error) {
	r, err := scanRow(db.Read().QueryRowContext(ctx, `SELECT `+rowColumns+` FROM audit_records WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Entry{}, store.NotFound("audit record " + id)
	}
	if err != nil {
		return Entry{}, fmt.Errorf("audit record %s: %w", id, err)
	}
	e, err := r.entry()
	if err != nil {
		return Entry{}, err
	}
	if e.Stored.Mode == ModeEncrypted && keys != nil {
		if e.Content, err = openContent(r.content, keys, r.id); err != nil && !errors.Is(err, ErrUnknownKey) {
			return Entry{}, fmt.Errorf("audit record %s: %w", id, err)
		}
	}
	return e, nil
}

// Content returns one record with its content decrypted where the
// trail's keyring holds the key (Entry.Stored says what is kept
// otherwise). The caller records who looked.
func (t *Trail) Content(ctx context.Context, id string) (Entry, error) {
	return Lookup(ctx, t.db, id, t.opts.Keys)
}
