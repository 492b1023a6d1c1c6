package sanction

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// DefaultKeep is how long violation and sanction records are kept by
// default: six months, as network logs (Cybersecurity Law Art. 21).
const DefaultKeep = 180 * 24 * time.Hour

// Purge deletes the violations recorded before olderThan and the
// sanctions imposed before it that are no longer in force (lifted, or
// expired): a suspension still running or a termination stays, however
// old. A user's counters (strikes in a row, the violations seen) are not
// records of content and stay. It returns how many rows went.
func (s *Service) Purge(ctx context.Context, olderThan time.Time) (int64, error) {
	cut, now := olderThan.UnixMilli(), s.opts.Now().UnixMilli()
	var n int64
	err := s.opts.DB.Tx(ctx, func(tx *sql.Tx) error {
		n = 0
		res, err := tx.ExecContext(ctx, `DELETE FROM sanction_violations WHERE created_at < $1 AND at < $1`, cut)
		if err != nil {
			return fmt.Errorf("purge violations: %w", err)
		}
		v, _ := res.RowsAffected()
		res, err = tx.ExecContext(ctx, `DELETE FROM sanctions WHERE created_at < $1
			AND (lifted_at IS NOT NULL OR (expires_at IS NOT NULL AND expires_at <= $2))`, cut, now)
		if err != nil {
			return fmt.Errorf("purge sanctions: %w", err)
		}
		sa, _ := res.RowsAffected()
		n = v + sa
		return nil
	})
	return n, err
}

// RunRetention purges records older than keep every interval until ctx
// ends. keep below six months is allowed and logged.
func (s *Service) RunRetention(ctx context.Context, every, keep time.Duration) {
	if keep <= 0 {
		keep = DefaultKeep
	}
	if keep < DefaultKeep {
		s.opts.Logger.Warn("violation and sanction retention shorter than six months", "keep", keep.String())
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		n, err := s.Purge(ctx, s.opts.Now().Add(-keep))
		switch {
		case err != nil && ctx.Err() == nil:
			s.opts.Logger.Error("violation and sanction purge failed", "err", err)
		case n > 0:
			s.opts.Logger.Info("violation and sanction records purged", "purged", n, "keep", keep.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
