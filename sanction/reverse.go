package sanction

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/store"
)

// Reversal is what ReverseViolation did.
type Reversal struct {
	// Lifted names the sanctions the violation had triggered, now lifted.
	Lifted []string
	// Standing is the user's standing recomputed without the violation.
	Standing Standing
}

// ReverseViolation takes back a violation a person found was none (a
// review reversed, an appeal granted): the strike no longer counts
// towards any trigger, the sanctions it triggered are lifted with reason,
// and the user's standing is recomputed from what remains. The history of
// sanctions keeps the lifted ones; the violation row goes.
func (s *Service) ReverseViolation(ctx context.Context, violationID, actor, reason string) (Reversal, error) {
	if actor == "" || reason == "" {
		return Reversal{}, clienterr.Errorf(clienterr.InvalidRequest, "reverse violation: actor and reason are required")
	}
	var k userKey
	var source string
	err := s.db.QueryRowContext(ctx, `SELECT tenant_id, end_user_id, source FROM sanction_violations WHERE id = $1`,
		violationID).Scan(&k.tenantID, &k.endUserID, &source)
	if errors.Is(err, sql.ErrNoRows) {
		return Reversal{}, store.NotFound("violation " + violationID)
	}
	if err != nil {
		return Reversal{}, fmt.Errorf("reverse violation %s: %w", violationID, err)
	}
	now := s.opts.Now()
	var out Reversal
	err = s.writeUser(ctx, k, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sanction_violations WHERE id = $1`, violationID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(err, store.NotFound("violation "+violationID))
		}
		if Source(source) == SourceMachine {
			if _, err := tx.ExecContext(ctx, `UPDATE sanction_strikes SET in_a_row = in_a_row - 1
				WHERE tenant_id = $1 AND end_user_id = $2 AND in_a_row > 0`, k.tenantID, k.endUserID); err != nil {
				return err
			}
		}
		rows, err := tx.QueryContext(ctx, `UPDATE sanctions SET lifted_at = $1, lifted_by = $2, lift_reason = $3
			WHERE violation_id = $4 AND lifted_at IS NULL RETURNING id`, now.UnixMilli(), actor, reason, violationID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			out.Lifted = append(out.Lifted, id)
		}
		return rows.Err()
	})
	if err != nil {
		return Reversal{}, fmt.Errorf("reverse violation %s: %w", violationID, err)
	}
	gen := s.users.Generation()
	st, err := s.loadState(ctx, k, now)
	if err != nil {
		return out, fmt.Errorf("reverse violation: %w", err)
	}
	s.users.PutIfCurrent(k, st, gen, now)
	out.Standing = st.standing(now)
	return out, nil
}
