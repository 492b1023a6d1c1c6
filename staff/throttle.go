package staff

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/firebreak/firebreak/internal/clientip"
	"github.com/firebreak/firebreak/store"
)

// throttle caps login attempts per source address in a sliding minute,
// whatever account they aim at, so one address cannot guess passwords of
// many accounts below each account's lockout. The counts are in the
// database (staff_login_attempts), one row per source and minute, so the
// cap holds across every replica sharing it. The sliding minute is
// estimated from two fixed minutes: the previous minute's attempts
// weighted by the share of it still inside the window, plus this minute's.
// Every attempt counts, refused or not, so a source that keeps trying
// stays refused. IPv6 sources count per /64, which one host usually holds
// whole.
type throttle struct {
	db    *store.DB
	rate  int
	sweep atomic.Int64 // the minute of the last deletion of old rows
}

func newThrottle(db *store.DB, rate int) *throttle { return &throttle{db: db, rate: rate} }

// source is the key an address counts under.
func source(ip string) string { return clientip.Network(ip) }

// allow records an attempt from ip at now and reports whether it is within
// the rate.
func (t *throttle) allow(ctx context.Context, ip string, now time.Time) (bool, error) {
	src := source(ip)
	minute := now.UnixMilli() - now.UnixMilli()%60_000
	var cur, prev int64
	err := t.db.Tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO staff_login_attempts (source, minute_ms, attempts) VALUES ($1, $2, 1)
			ON CONFLICT (source, minute_ms) DO UPDATE SET attempts = staff_login_attempts.attempts + 1
			RETURNING attempts`, src, minute).Scan(&cur)
		if err != nil {
			return err
		}
		err = tx.QueryRowContext(ctx, `SELECT attempts FROM staff_login_attempts WHERE source = $1 AND minute_ms = $2`,
			src, minute-60_000).Scan(&prev)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if last := t.sweep.Load(); last != minute && t.sweep.CompareAndSwap(last, minute) {
			_, err = tx.ExecContext(ctx, `DELETE FROM staff_login_attempts WHERE minute_ms < $1`, minute-60_000)
			return err
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("login throttle: %w", err)
	}
	elapsed := now.UnixMilli() - minute
	estimate := float64(prev)*float64(60_000-elapsed)/60_000 + float64(cur)
	return estimate <= float64(t.rate), nil
}
