package replica_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/firebreak/firebreak/config"
	"github.com/firebreak/firebreak/replica"
	"github.com/firebreak/firebreak/staff"
)

// TestEndedSessionsPurged: a replica deletes, when it starts (and every
// hour after), the staff sessions that ended more than 30 days ago,
// expired or revoked, and keeps the rest.
func TestEndedSessionsPurged(t *testing.T) {
	ctx := context.Background()
	cfg := config.Default()
	cfg.Data = t.TempDir()
	r, err := replica.New(ctx, cfg, replica.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := r.Staff.Create(ctx, staff.NewMember{Name: "ops", Role: staff.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	day := int64(24 * time.Hour / time.Millisecond)
	now := time.Now().UnixMilli()
	for _, s := range []struct {
		id               string
		expires, revoked int64
	}{
		{"expired-long-ago", now - 31*day, 0},
		{"revoked-long-ago", now + day, now - 31*day},
		{"expired-yesterday", now - day, 0},
		{"live", now + day, 0},
	} {
		var revoked any
		if s.revoked != 0 {
			revoked = s.revoked
		}
		if _, err := r.DB.ExecContext(ctx, `INSERT INTO staff_sessions (id, secret_hash, staff_id, created_at, seen_at,
			expires_at, revoked_at) VALUES ($1, $1, $2, $3, $3, $4, $5)`, s.id, m.ID, now-40*day, s.expires, revoked); err != nil {
			t.Fatal(err)
		}
	}
	r.Close()

	r2, err := replica.New(ctx, cfg, replica.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r2.Close)
	want := []string{"expired-yesterday", "live"}
	var left []string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		left = left[:0]
		rows, err := r2.DB.QueryContext(ctx, `SELECT id FROM staff_sessions ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			left = append(left, id)
		}
		rows.Close()
		if slices.Equal(left, want) {
			return
		}
	}
	t.Fatalf("sessions left %v, want %v", left, want)
}
