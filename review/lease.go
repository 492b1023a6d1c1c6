package review

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/store"
)

// Reviewer is the staff member who claims and decides.
type Reviewer struct {
	ID   string // staff id
	Name string // login name, for the audit trail
	// Senior may decide items two reviewers disagreed on.
	Senior bool
}

// Errors of claims and decisions; a client sees their messages.
var (
	ErrLeaseLost  = clienterr.New(clienterr.Conflict, "the lease on this item was lost: claim it again")
	ErrClaimed    = clienterr.New(clienterr.Conflict, "another reviewer holds this item")
	ErrDone       = clienterr.New(clienterr.Conflict, "this item is decided")
	ErrOwnItem    = clienterr.New(clienterr.Conflict, "you decided this item already: a second reviewer must")
	ErrNeedSenior = clienterr.New(clienterr.Forbidden, "this item needs a senior reviewer")
	ErrEmpty      = clienterr.New(clienterr.NotFound, "no item waits for review")
)

// Lease is a claim on an item: the item as claimed and the token a
// decision must present.
type Lease struct {
	Item  *Item
	Token string
}

// claimable is the condition under which who may take an item at now
// ($1 reviewer id, $2 now, $3 " id " pattern, $4 senior).
const claimable = `state = 'open' AND (lease_until <= $2 OR lease_owner = $1)
	AND reviewers NOT LIKE $3 AND (stage < 3 OR $4)`

// Claim takes the lease on one item. Exactly one of concurrent claimers
// wins: the update is conditional on the lease being free or expired,
// and the database applies it to one of them (a row lock on PostgreSQL,
// the single writer on SQLite). The winner's own lease is renewed.
func (q *Queue) Claim(ctx context.Context, itemID string, who Reviewer) (*Lease, error) {
	if who.ID == "" {
		return nil, errors.New("claim: reviewer id is required")
	}
	now := q.opts.Now()
	token := newID("")
	row := q.db.QueryRowContext(ctx, `UPDATE review_items SET lease_owner = $1, lease_token = $5, lease_until = $6
		WHERE id = $7 AND `+claimable+` RETURNING `+itemColumns,
		who.ID, ms(now), "% "+who.ID+" %", who.Senior, token, ms(now.Add(q.opts.Lease)), itemID)
	it, err := scanItem(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, q.whyNot(ctx, itemID, who)
	}
	if err != nil {
		return nil, fmt.Errorf("claim review item: %w", err)
	}
	return &Lease{Item: it, Token: token}, nil
}

// whyNot explains a refused claim.
func (q *Queue) whyNot(ctx context.Context, itemID string, who Reviewer) error {
	it, err := q.Get(ctx, itemID)
	switch {
	case err != nil:
		return err
	case it.State != StateOpen:
		return ErrDone
	case strings.Contains(" "+strings.Join(it.Reviewers, " ")+" ", " "+who.ID+" "):
		return ErrOwnItem
	case it.Stage == StageSenior && !who.Senior:
		return ErrNeedSenior
	}
	return ErrClaimed
}

// Next claims the first open item matching f that who may take: the one
// whose deadline comes first. It returns ErrEmpty when there is none.
func (q *Queue) Next(ctx context.Context, who Reviewer, f Filter) (*Lease, error) {
	if who.ID == "" {
		return nil, errors.New("claim next: reviewer id is required")
	}
	f.State, f.Claimable = StateOpen, true
	for range 5 { // another claimer may take the candidate first: try the next one
		now := q.opts.Now()
		f.now = ms(now)
		args := []any{who.ID, ms(now), "% " + who.ID + " %", who.Senior}
		where, args := f.where(args)
		lock := ""
		if q.db.Dialect() == store.Postgres {
			lock = " FOR UPDATE SKIP LOCKED"
		}
		token := newID("")
		args = append(args, token, ms(now.Add(q.opts.Lease)))
		n := len(args)
		row := q.db.QueryRowContext(ctx, `UPDATE review_items SET lease_owner = $1, lease_token = $`+strconv.Itoa(n-1)+
			`, lease_until = $`+strconv.Itoa(n)+`
			WHERE id = (SELECT id FROM review_items`+where+` ORDER BY due_ms, id LIMIT 1`+lock+`)
			AND `+claimable+` RETURNING `+itemColumns, args...)
		it, err := scanItem(row)
		if errors.Is(err, sql.ErrNoRows) {
			if left, err := q.anyClaimable(ctx, who, f); err != nil || !left {
				return nil, errors.Join(err, ErrEmpty)
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("claim next review item: %w", err)
		}
		return &Lease{Item: it, Token: token}, nil
	}
	return nil, ErrEmpty
}

func (q *Queue) anyClaimable(ctx context.Context, who Reviewer, f Filter) (bool, error) {
	args := []any{who.ID, ms(q.opts.Now()), "% " + who.ID + " %", who.Senior}
	where, args := f.where(args)
	var n int
	err := q.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT id FROM review_items`+where+` LIMIT 1) x`, args...).Scan(&n)
	return n > 0, err
}

// Release gives a lease back before it expires.
func (q *Queue) Release(ctx context.Context, itemID, token string) error {
	_, err := q.db.ExecContext(ctx, `UPDATE review_items SET lease_owner = '', lease_token = '', lease_until = 0
		WHERE id = $1 AND lease_token = $2`, itemID, token)
	if err != nil {
		return fmt.Errorf("release review item: %w", err)
	}
	return nil
}
