package audit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
)

// Retained returns the newest records matching q whose content is kept
// encrypted, with the content decrypted: real traffic for a policy dry run
// to replay. Records whose key is gone, or whose content was erased, are
// skipped. q.Limit defaults to 100, at most 1000.
func (t *Trail) Retained(ctx context.Context, q Query) ([]Entry, error) {
	if t.opts.Keys == nil {
		return nil, errors.New("audit retained: no keyring, so no content is retained")
	}
	if q.Limit <= 0 {
		q.Limit = defaultLimit
	}
	q.Limit = min(q.Limit, maxLimit)
	where, args, err := q.where()
	if err != nil {
		return nil, fmt.Errorf("audit retained: %w", err)
	}
	args = append(args, q.Limit*4) // clean records are hashed, not retained: read more than asked
	rows, err := t.db.Read().QueryContext(ctx, `SELECT `+rowColumns+` FROM audit_records`+where+
		` ORDER BY seq DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("audit retained: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() && len(out) < q.Limit {
		r, err := scanRow(rows)
		if err != nil {
			return nil, fmt.Errorf("audit retained: %w", err)
		}
		e, err := r.entry()
		if err != nil {
			return nil, fmt.Errorf("audit retained: %w", err)
		}
		if e.Stored.Mode != ModeEncrypted || !e.Stored.ErasedAt.IsZero() {
			continue
		}
		c, err := openContent(r.content, t.opts.Keys, r.id)
		if errors.Is(err, ErrUnknownKey) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("audit retained: record %s: %w", r.id, err)
		}
		e.Content = c
		out = append(out, e)
	}
	return out, rows.Err()
}
