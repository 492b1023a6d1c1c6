package policy

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/store"
)

// Event is one publish or rollback.
type Event struct {
	Seq      int64     `json:"seq"`
	Kind     string    `json:"kind"` // publish or rollback
	Version  string    `json:"version"`
	Previous string    `json:"previous"` // version in force before; "" for the first
	Author   string    `json:"author"`
	Reason   string    `json:"reason"`
	At       time.Time `json:"at"`
}

// Event kinds.
const (
	KindPublish  = "publish"
	KindRollback = "rollback"
)

// ErrConflict is returned when the version in force changed while a
// rollback was being prepared.
var ErrConflict error = clienterr.New(clienterr.Conflict, "the policy version in force changed meanwhile; try again")

// versions is the SQL of policy versions, next to the domain it serves.
type versions struct {
	db *store.DB
}

// active reads the version in force and the event that put it there.
func (v versions) active(ctx context.Context, q querier) (id string, seq int64, err error) {
	err = q.QueryRowContext(ctx, `SELECT version_id, event_seq FROM policy_active WHERE name = 'active'`).Scan(&id, &seq)
	if err != nil {
		return "", 0, fmt.Errorf("read active policy: %w", err)
	}
	return id, seq, nil
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// bundle loads a stored version's files.
func (v versions) bundle(ctx context.Context, id string) (*Bundle, error) {
	var raw string
	err := v.db.Read().QueryRowContext(ctx, `SELECT files FROM policy_versions WHERE id = $1`, id).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.NotFound("policy version " + id)
	}
	if err != nil {
		return nil, fmt.Errorf("load policy version %s: %w", id, err)
	}
	var files map[string]string
	if err := json.Unmarshal([]byte(raw), &files); err != nil {
		return nil, fmt.Errorf("load policy version %s: %w", id, err)
	}
	b, err := BundleFromText(files)
	if err != nil {
		return nil, fmt.Errorf("load policy version %s: %w", id, err)
	}
	if b.ID() != id {
		return nil, fmt.Errorf("load policy version %s: stored files hash to %s", id, b.ID())
	}
	return b, nil
}

// previous returns the version in force before the event seq.
func (v versions) previous(ctx context.Context, seq int64) (string, error) {
	var prev string
	err := v.db.QueryRowContext(ctx, `SELECT previous FROM policy_events WHERE seq = $1`, seq).Scan(&prev)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read policy event %d: %w", seq, err)
	}
	return prev, nil
}

// activation is one change of the version in force.
type activation struct {
	compiled *Compiled
	kind     string
	change   Change
	expect   string // version that must be in force; "" for any
	now      time.Time
	// publish announces the change inside the transaction.
	publish func(ctx context.Context, tx *sql.Tx, version string) error
}

// activate stores the version (once), records the event and makes it the
// version in force, in one transaction. It reports changed=false, and
// records nothing, when the version is already in force.
func (v versions) activate(ctx context.Context, a activation) (ev Event, changed bool, err error) {
	files, err := json.Marshal(a.compiled.bundle.Files())
	if err != nil {
		return ev, false, err
	}
	id := a.compiled.Version()
	err = v.db.Tx(ctx, func(tx *sql.Tx) error {
		changed = false
		// Lock the one row every change goes through first, so events get
		// their seq in commit order.
		if _, err := tx.ExecContext(ctx, `UPDATE policy_active SET updated_at = updated_at WHERE name = 'active'`); err != nil {
			return err
		}
		cur, _, err := v.active(ctx, tx)
		if err != nil {
			return err
		}
		if cur == id {
			return nil
		}
		if a.expect != "" && cur != a.expect {
			return ErrConflict
		}
		at := a.now.UnixMilli()
		if _, err := tx.ExecContext(ctx, `INSERT INTO policy_versions (id, files, lexicon_hash, terms, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`,
			id, string(files), a.compiled.lexiconHash(), a.compiled.Base().Lexicon().Len(), a.change.Author, at); err != nil {
			return err
		}
		ev = Event{Kind: a.kind, Version: id, Previous: cur, Author: a.change.Author, Reason: a.change.Reason, At: time.UnixMilli(at)}
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) + 1 FROM policy_events`).Scan(&ev.Seq); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO policy_events (seq, kind, version_id, previous, author, reason, at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, ev.Seq, ev.Kind, id, cur, ev.Author, ev.Reason, at); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE policy_active SET version_id = $1, event_seq = $2, updated_at = $3 WHERE name = 'active'`,
			id, ev.Seq, at); err != nil {
			return err
		}
		changed = true
		return a.publish(ctx, tx, id)
	})
	if err != nil {
		return Event{}, false, fmt.Errorf("%s policy %s: %w", a.kind, id, err)
	}
	return ev, changed, nil
}

// history lists events, newest first.
func (v versions) history(ctx context.Context, limit int) ([]Event, error) {
	rows, err := v.db.Read().QueryContext(ctx, `SELECT seq, kind, version_id, previous, author, reason, at
		FROM policy_events ORDER BY seq DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("policy history: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var at int64
		if err := rows.Scan(&e.Seq, &e.Kind, &e.Version, &e.Previous, &e.Author, &e.Reason, &at); err != nil {
			return nil, fmt.Errorf("policy history: %w", err)
		}
		e.At = time.UnixMilli(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// lexiconUpdated returns when the lexicon in force last changed: the time
// of the newest event whose version's lexicon differs from the version
// before it (or of the first event). Zero when nothing was published.
func (v versions) lexiconUpdated(ctx context.Context) (time.Time, error) {
	rows, err := v.db.Read().QueryContext(ctx, `SELECT e.at, v.lexicon_hash FROM policy_events e
		JOIN policy_versions v ON v.id = e.version_id ORDER BY e.seq DESC LIMIT 1000`)
	if err != nil {
		return time.Time{}, fmt.Errorf("policy lexicon history: %w", err)
	}
	defer rows.Close()
	var last int64
	var cur string
	for rows.Next() {
		var at int64
		var h string
		if err := rows.Scan(&at, &h); err != nil {
			return time.Time{}, fmt.Errorf("policy lexicon history: %w", err)
		}
		if cur != "" && h != cur {
			break
		}
		cur, last = h, at
	}
	if err := rows.Err(); err != nil || last == 0 {
		return time.Time{}, err
	}
	return time.UnixMilli(last), nil
}
