package identity

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/firebreak/firebreak/clienterr"
)

// State is what Firebreak knows about an end user's identity. Identifiers
// appear only in masked form; their keyed hashes stay in the database.
type State struct {
	UserID     string
	TenantID   string
	Level      Level
	Method     string // how Level was reached: sms, id_format, id_checked, uscc_format, token
	Phone      string // masked: 138****5678
	IDNumber   string // masked: 1101**********7777
	CreditCode string // masked credit code of the organisation
	OrgName    string
	// Minor is set when an ID number or a token showed the user under 18.
	Minor bool
	// MinorUntil is the start, in Options.Location, of the 18th birthday;
	// zero when a token said "minor" without a birth date.
	MinorUntil time.Time
	VerifiedAt time.Time // when Level was reached; zero if unverified
	UpdatedAt  time.Time

	phoneHash, idHash string // keyed hashes (package idhash), for blacklists
}

// Hashes returns the keyed hashes of the user's verified phone and ID
// numbers ("" when none), as blacklists match them (package idhash).
func (st *State) Hashes() (phone, idNumber string) { return st.phoneHash, st.idHash }

// realLevel is the level st meets requirements with: its Level, but one
// reached by checking a number's format alone (MethodIDFormat,
// MethodUSCCFormat) only when acceptFormat; otherwise the phone level if
// the user confirmed a phone, else none.
func (st *State) realLevel(acceptFormat bool) Level {
	if acceptFormat || st.Method != MethodIDFormat && st.Method != MethodUSCCFormat {
		return st.Level
	}
	if st.phoneHash != "" {
		return LevelPhone
	}
	return LevelUnverified
}

// IsMinor reports whether the user is under 18 at now.
func (st *State) IsMinor(now time.Time) bool {
	return st.Minor && (st.MinorUntil.IsZero() || now.Before(st.MinorUntil))
}

const selectState = `SELECT user_id, tenant_id, level, method, phone_masked, id_masked, org_masked,
	org_name, minor, minor_until, verified_at, updated_at, phone_hash, id_hash FROM identity_states WHERE user_id = $1`

// load reads a state; a missing row is the unverified state.
func (s *Service) load(ctx context.Context, userID string) (*State, error) {
	var (
		st                State
		level, until      string
		verified, updated int64
	)
	err := s.loadQ.QueryRowContext(ctx, userID).Scan(&st.UserID, &st.TenantID, &level, &st.Method,
		&st.Phone, &st.IDNumber, &st.CreditCode, &st.OrgName, &st.Minor, &until, &verified, &updated, &st.phoneHash, &st.idHash)
	if errors.Is(err, sql.ErrNoRows) {
		return &State{UserID: userID}, nil
	}
	if err != nil {
		return nil, err
	}
	if st.Level, err = ParseLevel(level); err != nil {
		return nil, err
	}
	if until != "" {
		d, err := time.ParseInLocation(time.DateOnly, until, s.opts.Location)
		if err != nil {
			return nil, fmt.Errorf("minor_until: %w", err)
		}
		st.MinorUntil = d
	}
	st.VerifiedAt, st.UpdatedAt = time.UnixMilli(verified), time.UnixMilli(updated)
	return &st, nil
}

// record is one verification to merge into a user's state.
type record struct {
	userID, tenantID string
	level            Level
	method           string
	// replace sets level and method even when lower than the stored level
	// (the operator's token is the authority); otherwise the higher stays.
	replace                 bool
	phoneHash, phoneMasked  string // "" keeps the stored value
	idHash, idMasked        string
	orgHash, orgMasked, org string
	setMinor                bool // write minor and minorUntil; otherwise keep
	minor                   bool
	minorUntil              string // YYYY-MM-DD or ""
	at                      time.Time
}

const upsertState = `INSERT INTO identity_states (user_id, tenant_id, level, level_rank, method,
	phone_hash, phone_masked, id_hash, id_masked, org_hash, org_masked, org_name, minor, minor_until,
	verified_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)
ON CONFLICT (user_id) DO UPDATE SET
	tenant_id = excluded.tenant_id,
	level = CASE WHEN $16 OR excluded.level_rank >= identity_states.level_rank
		THEN excluded.level ELSE identity_states.level END,
	method = CASE WHEN $16 OR excluded.level_rank >= identity_states.level_rank
		THEN excluded.method ELSE identity_states.method END,
	verified_at = CASE WHEN $16 OR excluded.level_rank >= identity_states.level_rank
		THEN excluded.verified_at ELSE identity_states.verified_at END,
	level_rank = CASE WHEN $16 OR excluded.level_rank >= identity_states.level_rank
		THEN excluded.level_rank ELSE identity_states.level_rank END,
	phone_hash = CASE WHEN excluded.phone_hash <> '' THEN excluded.phone_hash ELSE identity_states.phone_hash END,
	phone_masked = CASE WHEN excluded.phone_hash <> '' THEN excluded.phone_masked ELSE identity_states.phone_masked END,
	id_hash = CASE WHEN excluded.id_hash <> '' THEN excluded.id_hash ELSE identity_states.id_hash END,
	id_masked = CASE WHEN excluded.id_hash <> '' THEN excluded.id_masked ELSE identity_states.id_masked END,
	org_hash = CASE WHEN excluded.org_hash <> '' THEN excluded.org_hash ELSE identity_states.org_hash END,
	org_masked = CASE WHEN excluded.org_hash <> '' THEN excluded.org_masked ELSE identity_states.org_masked END,
	org_name = CASE WHEN excluded.org_hash <> '' THEN excluded.org_name ELSE identity_states.org_name END,
	minor = CASE WHEN $17 THEN excluded.minor ELSE identity_states.minor END,
	minor_until = CASE WHEN $17 THEN excluded.minor_until ELSE identity_states.minor_until END,
	updated_at = excluded.updated_at
WHERE identity_states.id_hash = '' OR excluded.id_hash = '' OR excluded.id_hash = identity_states.id_hash`

// merge writes r in one statement, so concurrent verifications on several
// replicas cannot lower a level, and publishes the change. An ID number
// never replaces another verified for the same user: a person has one,
// and a second would shed what the first brought (a blacklisting, a
// minor's birth date). It returns a 409 wrapping ErrOtherIDNumber then.
func (s *Service) merge(ctx context.Context, q querier, r record) error {
	res, err := q.ExecContext(ctx, upsertState, r.userID, r.tenantID, r.level.String(), int(r.level), r.method,
		r.phoneHash, r.phoneMasked, r.idHash, r.idMasked, r.orgHash, r.orgMasked, r.org,
		r.minor, r.minorUntil, r.at.UnixMilli(), r.replace, r.setMinor)
	if err != nil {
		return fmt.Errorf("write identity state: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("write identity state: %w", err)
	} else if n == 0 {
		return clienterr.Wrap(clienterr.Conflict, ErrOtherIDNumber,
			"another ID number is verified for this end user; it cannot be replaced")
	}
	return nil
}

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// bump adds one to subject's counter in window win unless it already
// reached limit, and reports whether it did. A conditional upsert keeps the
// count exact across replicas without reading first.
func bump(ctx context.Context, q querier, subject string, win, expires int64, limit int) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, `INSERT INTO identity_counters (subject, win, n, expires_at)
		VALUES ($1, $2, 1, $3)
		ON CONFLICT (subject, win) DO UPDATE SET n = identity_counters.n + 1
		WHERE identity_counters.n < $4 RETURNING n`, subject, win, expires, limit).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("count %s: %w", subjectKind(subject), err)
	}
	return true, nil
}

// subjectKind is the part of a counter subject before the hash or ID, safe
// to put in an error.
func subjectKind(subject string) string {
	for i := range len(subject) {
		if subject[i] == ':' {
			return subject[:i]
		}
	}
	return subject
}

// Forget deletes everything stored about an end user's identity: state,
// pending code and minors' counters (a deletion request under Art. 11 of
// the Interim Measures). The user is unverified afterwards.
func (s *Service) Forget(ctx context.Context, userID string) error {
	err := s.write(ctx, userID, func(tx *sql.Tx) error {
		for _, q := range []string{
			`DELETE FROM identity_states WHERE user_id = $1`,
			`DELETE FROM identity_codes WHERE user_id = $1`,
			`DELETE FROM identity_counters WHERE subject = 'minor-day:' || $1`,
		} {
			if _, err := tx.ExecContext(ctx, q, userID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("forget identity: %w", err)
	}
	return nil
}

// codeGrace is how long an expired code is kept, so that a late attempt is
// told "expired" rather than "no code".
const codeGrace = 24 * time.Hour

// Purge deletes expired counters and codes, and clears the birthday of
// every user who has turned 18: after that only "adult" is needed, which
// is what an empty row says. The background loop calls it every
// Options.PurgeInterval.
func (s *Service) Purge(ctx context.Context) error {
	now := s.opts.Now()
	today := now.In(s.opts.Location).Format(time.DateOnly)
	stmts := []struct {
		q    string
		args []any
	}{
		{`DELETE FROM identity_counters WHERE expires_at <= $1`, []any{now.UnixMilli()}},
		{`DELETE FROM identity_codes WHERE expires_at <= $1`, []any{now.Add(-codeGrace).UnixMilli()}},
		{`UPDATE identity_states SET minor = FALSE, minor_until = '', updated_at = $2
			WHERE minor_until <> '' AND minor_until <= $1`, []any{today, now.UnixMilli()}},
	}
	for _, st := range stmts {
		if _, err := s.db.ExecContext(ctx, st.q, st.args...); err != nil {
			return fmt.Errorf("purge: %w", err)
		}
	}
	return nil
}
