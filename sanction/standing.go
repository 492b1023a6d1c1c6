package sanction

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

// ActorSystem is the actor recorded for steps the ladder imposes.
const ActorSystem = "system"

// ErrLifted is returned (wrapped) by Lift for a sanction lifted already.
var ErrLifted error = clienterr.New(clienterr.Conflict, "sanction already lifted")

// Sanction is one entry of a user's sanctions history.
type Sanction struct {
	ID          string
	TenantID    string
	EndUserID   string
	Action      Action
	Step        int    // ladder step index; -1 when imposed by hand
	ViolationID string // the violation that triggered it, if any
	Reason      string
	Actor       string // ActorSystem, or an admin or reviewer id
	Restrict    Restriction
	CreatedAt   time.Time
	ExpiresAt   time.Time // zero: until lifted
	LiftedAt    time.Time // zero: not lifted
	LiftedBy    string
	LiftReason  string
}

// ActiveAt reports whether the sanction stands at t.
func (s *Sanction) ActiveAt(t time.Time) bool {
	return s.LiftedAt.IsZero() && (s.ExpiresAt.IsZero() || t.Before(s.ExpiresAt))
}

// Standing is a user's current sanction: the most severe one active.
type Standing struct {
	Action     Action // None: good standing
	SanctionID string
	Reason     string
	Until      time.Time   // zero: until lifted (or Action None)
	Restrict   Restriction // for Restrict; shared, do not modify
}

// Allowed reports whether the user may be served at all.
func (st Standing) Allowed() bool { return st.Action < Suspend }

// Err returns the client-facing error for a user who may not be served,
// and nil otherwise.
func (st Standing) Err() error {
	switch st.Action {
	case Suspend:
		if st.Until.IsZero() {
			return clienterr.Errorf(clienterr.Forbidden, "this user's access is suspended for violations of the service agreement")
		}
		return clienterr.Errorf(clienterr.Forbidden, "this user's access is suspended until %s for violations of the service agreement",
			st.Until.UTC().Format(time.RFC3339))
	case Terminate:
		return clienterr.Errorf(clienterr.Forbidden, "this user's access has been terminated for violations of the service agreement")
	}
	return nil
}

// standing picks the most severe sanction active at now; on a tie the
// latest.
func (us *userState) standing(now time.Time) Standing {
	var best *Sanction
	for i := range us.active {
		sa := &us.active[i]
		if !sa.ActiveAt(now) {
			continue
		}
		if best == nil || sa.Action > best.Action || (sa.Action == best.Action && sa.CreatedAt.After(best.CreatedAt)) {
			best = sa
		}
	}
	if best == nil {
		return Standing{}
	}
	return Standing{Action: best.Action, SanctionID: best.ID, Reason: best.Reason, Until: best.ExpiresAt, Restrict: best.Restrict}
}

// Standing returns the user's current standing. It is served from memory
// when it can be, and reads the database at most once per CacheTTL per
// user otherwise.
func (s *Service) Standing(ctx context.Context, tenantID, endUserID string) (Standing, error) {
	now := s.opts.Now()
	st, err := s.state(ctx, userKey{tenantID, endUserID}, now)
	if err != nil {
		return Standing{}, fmt.Errorf("sanction standing: %w", err)
	}
	return st.standing(now), nil
}

func (s *Service) state(ctx context.Context, k userKey, now time.Time) (*userState, error) {
	if st, ok := s.users.Get(k, now); ok {
		return st, nil
	}
	v, err, _ := s.flight.Do(k.tenantID+"\n"+k.endUserID, func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		gen := s.users.Generation()
		st, err := s.loadState(ctx, k, now)
		if err != nil {
			return nil, err
		}
		s.users.PutIfCurrent(k, st, gen, now)
		return st, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*userState), nil
}

const sanctionColumns = `id, tenant_id, end_user_id, action, step, violation_id, reason, actor, rpm, models,
	created_at, expires_at, lifted_at, lifted_by, lift_reason`

func (s *Service) loadState(ctx context.Context, k userKey, now time.Time) (*userState, error) {
	list, err := querySanctions(ctx, s.db.Read(), `SELECT `+sanctionColumns+` FROM sanctions
		WHERE tenant_id = $1 AND end_user_id = $2 AND lifted_at IS NULL AND (expires_at IS NULL OR expires_at > $3)`,
		k.tenantID, k.endUserID, now.UnixMilli())
	if err != nil {
		return nil, err
	}
	var inARow int
	err = s.db.Read().QueryRowContext(ctx, `SELECT in_a_row FROM sanction_strikes
		WHERE tenant_id = $1 AND end_user_id = $2`, k.tenantID, k.endUserID).Scan(&inARow)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("read strikes: %w", err)
	}
	return &userState{active: list, inARow: inARow > 0}, nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func querySanctions(ctx context.Context, q querier, query string, args ...any) ([]Sanction, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read sanctions: %w", err)
	}
	defer rows.Close()
	var out []Sanction
	for rows.Next() {
		sa, err := scanSanction(rows)
		if err != nil {
			return nil, fmt.Errorf("read sanctions: %w", err)
		}
		out = append(out, *sa)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read sanctions: %w", err)
	}
	return out, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanSanction(r scanner) (*Sanction, error) {
	var (
		sa                Sanction
		action, models    string
		created           int64
		expires, liftedAt sql.NullInt64
	)
	err := r.Scan(&sa.ID, &sa.TenantID, &sa.EndUserID, &action, &sa.Step, &sa.ViolationID, &sa.Reason, &sa.Actor,
		&sa.Restrict.RPM, &models, &created, &expires, &liftedAt, &sa.LiftedBy, &sa.LiftReason)
	if err != nil {
		return nil, err
	}
	if sa.Action, err = ParseAction(action); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(models), &sa.Restrict.Models); err != nil {
		return nil, fmt.Errorf("decode models: %w", err)
	}
	if len(sa.Restrict.Models) == 0 {
		sa.Restrict.Models = nil
	}
	sa.CreatedAt = fromMs(created)
	if expires.Valid {
		sa.ExpiresAt = fromMs(expires.Int64)
	}
	if liftedAt.Valid {
		sa.LiftedAt = fromMs(liftedAt.Int64)
	}
	return &sa, nil
}

// insertSanction writes sa in tx.
func insertSanction(ctx context.Context, tx *sql.Tx, sa *Sanction) error {
	models := "[]"
	if len(sa.Restrict.Models) > 0 {
		b, err := json.Marshal(sa.Restrict.Models)
		if err != nil {
			return err
		}
		models = string(b)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO sanctions (`+sanctionColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, '', '')`,
		sa.ID, sa.TenantID, sa.EndUserID, sa.Action.String(), sa.Step, sa.ViolationID, sa.Reason, sa.Actor,
		sa.Restrict.RPM, models, sa.CreatedAt.UnixMilli(), nullMs(sa.ExpiresAt))
	if err != nil {
		return fmt.Errorf("insert sanction: %w", err)
	}
	return nil
}

// History returns up to limit (default and maximum 1000) of the user's
// sanctions, newest first, lifted and expired ones included.
func (s *Service) History(ctx context.Context, tenantID, endUserID string, limit int) ([]Sanction, error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	list, err := querySanctions(ctx, s.db, `SELECT `+sanctionColumns+` FROM sanctions
		WHERE tenant_id = $1 AND end_user_id = $2 ORDER BY created_at DESC, id DESC LIMIT $3`,
		tenantID, endUserID, limit)
	if err != nil {
		return nil, fmt.Errorf("sanction history: %w", err)
	}
	return list, nil
}

// Sanction returns one sanction, or an error wrapping store.ErrNotFound.
func (s *Service) Sanction(ctx context.Context, sanctionID string) (*Sanction, error) {
	sa, err := scanSanction(s.db.QueryRowContext(ctx, `SELECT `+sanctionColumns+` FROM sanctions WHERE id = $1`, sanctionID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.NotFound("sanction " + sanctionID)
	}
	if err != nil {
		return nil, fmt.Errorf("get sanction: %w", err)
	}
	return sa, nil
}

// Lift ends a sanction early, on appeal or by an administrator's decision,
// and records who lifted it and why. The history keeps the sanction; a
// lifted one no longer counts towards Trigger.Repeat. It returns an error
// wrapping store.ErrNotFound or ErrLifted when there is nothing to lift.
func (s *Service) Lift(ctx context.Context, sanctionID, actor, reason string) (*Sanction, error) {
	if actor == "" || reason == "" {
		return nil, errors.New("lift sanction: actor and reason are required")
	}
	var k userKey
	err := s.db.QueryRowContext(ctx, `SELECT tenant_id, end_user_id FROM sanctions WHERE id = $1`, sanctionID).
		Scan(&k.tenantID, &k.endUserID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.NotFound("sanction " + sanctionID)
	}
	if err != nil {
		return nil, fmt.Errorf("lift sanction %s: %w", sanctionID, err)
	}
	err = s.writeUser(ctx, k, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE sanctions SET lifted_at = $1, lifted_by = $2, lift_reason = $3
			WHERE id = $4 AND lifted_at IS NULL`, s.opts.Now().UnixMilli(), actor, reason, sanctionID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(err, ErrLifted)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("lift sanction %s: %w", sanctionID, err)
	}
	sa, err := s.Sanction(ctx, sanctionID)
	if err != nil {
		return nil, fmt.Errorf("lift sanction: %w", err)
	}
	return sa, nil
}

// Imposition is a sanction imposed by a person rather than the ladder.
type Imposition struct {
	TenantID  string
	EndUserID string
	Action    Action        // Warn … Terminate
	Duration  time.Duration // 0: until lifted
	Restrict  Restriction   // for Restrict
	Reason    string        // required
	Actor     string        // the admin's or reviewer's id; required
}

// Impose records a sanction decided by a person, e.g. after a complaint.
func (s *Service) Impose(ctx context.Context, im Imposition) (*Sanction, error) {
	step := Step{Action: im.Action, Duration: im.Duration, Restrict: im.Restrict, Trigger: Trigger{Total: 1}}
	if err := step.validate(); err != nil {
		return nil, clienterr.Wrap(clienterr.InvalidRequest, err, "sanction: "+err.Error())
	}
	if im.TenantID == "" || im.EndUserID == "" || im.Reason == "" || im.Actor == "" {
		return nil, clienterr.Errorf(clienterr.InvalidRequest, "tenant, end user, reason and actor are required")
	}
	now := s.opts.Now()
	sa := &Sanction{ID: newID("snc_"), TenantID: im.TenantID, EndUserID: im.EndUserID, Action: im.Action,
		Step: -1, Reason: im.Reason, Actor: im.Actor, Restrict: im.Restrict, CreatedAt: fromMs(now.UnixMilli())}
	if im.Duration > 0 && im.Action != Terminate {
		sa.ExpiresAt = fromMs(now.Add(im.Duration).UnixMilli())
	}
	k := userKey{im.TenantID, im.EndUserID}
	if err := s.writeUser(ctx, k, func(tx *sql.Tx) error { return insertSanction(ctx, tx, sa) }); err != nil {
		return nil, fmt.Errorf("impose sanction: %w", err)
	}
	return sa, nil
}
