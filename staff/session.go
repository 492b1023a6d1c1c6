package staff

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Pending says what a session still lacks before it is a full login.
const (
	PendingNone   = ""       // logged in
	PendingTOTP   = "totp"   // password accepted; the TOTP code is awaited
	PendingEnroll = "enroll" // the role requires TOTP and the member has none yet
)

// Session is a console login. Secret, the cookie value, is set only when
// the session is created; the store keeps its hash.
type Session struct {
	ID        string    `json:"id"`
	StaffID   string    `json:"staff_id"`
	Pending   string    `json:"pending"`
	IP        string    `json:"ip"`
	UserAgent string    `json:"user_agent"`
	CreatedAt time.Time `json:"created_at"`
	SeenAt    time.Time `json:"seen_at"`
	ExpiresAt time.Time `json:"expires_at"`
	Revoked   bool      `json:"revoked"`
	Secret    string    `json:"-"`
}

// Client describes where a login comes from.
type Client struct {
	IP        string
	UserAgent string
}

// Principal is an authenticated caller: a member and how it proved who it
// is.
type Principal struct {
	Member Member
	// Via is "session", "token" or "bootstrap".
	Via string
	// CredentialID is the session or token id ("" for bootstrap).
	CredentialID string
	// Pending is the session's missing step (PendingTOTP, PendingEnroll);
	// a principal with one may do nothing else.
	Pending string
}

// Ways a principal authenticated.
const (
	ViaSession   = "session"
	ViaToken     = "token"
	ViaBootstrap = "bootstrap"
)

// BootstrapPrincipal is the holder of the shared first-start admin token:
// it may create staff and nothing else.
func BootstrapPrincipal() *Principal {
	return &Principal{Member: Member{Name: "bootstrap", State: StateActive}, Via: ViaBootstrap}
}

// Can reports whether the principal may do p now.
func (p *Principal) Can(perm Permission) bool {
	if p == nil || p.Pending != PendingNone {
		return false
	}
	if p.Via == ViaBootstrap {
		return perm == Bootstrap
	}
	return p.Member.Can(perm)
}

// Actor is the name recorded as the author of the principal's actions.
func (p *Principal) Actor() string {
	if p.Via == ViaBootstrap {
		return "bootstrap-token"
	}
	return p.Member.Name
}

func (s *Service) newSession(ctx context.Context, q querier, staffID, pending string, c Client) (*Session, error) {
	now := s.opts.Now()
	ses := &Session{ID: "ses_" + randomString(10), StaffID: staffID, Pending: pending,
		IP: clip(c.IP, 64), UserAgent: clip(c.UserAgent, 256), CreatedAt: now, SeenAt: now,
		ExpiresAt: now.Add(s.opts.SessionMax), Secret: randomString(32)}
	_, err := q.ExecContext(ctx, `INSERT INTO staff_sessions (id, secret_hash, staff_id, pending, ip, user_agent,
		created_at, seen_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)`,
		ses.ID, hashHex(ses.Secret), staffID, pending, ses.IP, ses.UserAgent, toMs(now), toMs(ses.ExpiresAt))
	if err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}
	return ses, nil
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Authenticate returns the principal of a session cookie value. A session
// that is revoked, past its absolute end, idle for longer than SessionIdle
// or whose member is disabled is ErrNoSession. Use moves the idle clock
// (written at most once a minute).
func (s *Service) Authenticate(ctx context.Context, secret string) (*Principal, error) {
	if secret == "" || len(secret) > 128 {
		return nil, ErrNoSession
	}
	var id, pending string
	var seen, expires int64
	var revoked sql.NullInt64
	row := s.db.Read().QueryRowContext(ctx, `SELECT s.id, s.pending, s.seen_at, s.expires_at, s.revoked_at, `+
		prefixed("m.", memberColumns)+` FROM staff_sessions s JOIN staff m ON m.id = s.staff_id WHERE s.secret_hash = $1`,
		hashHex(secret))
	m, err := scanMember(scanPrefix{row: row, dst: []any{&id, &pending, &seen, &expires, &revoked}})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate session: %w", err)
	}
	now := s.opts.Now()
	if revoked.Valid || now.UnixMilli() >= expires || now.Sub(time.UnixMilli(seen)) >= s.opts.SessionIdle ||
		m.State != StateActive {
		return nil, ErrNoSession
	}
	if now.Sub(time.UnixMilli(seen)) >= time.Minute {
		if _, err := s.db.ExecContext(ctx, `UPDATE staff_sessions SET seen_at = $1 WHERE id = $2`, toMs(now), id); err != nil {
			return nil, fmt.Errorf("touch session: %w", err)
		}
	}
	return &Principal{Member: *m, Via: ViaSession, CredentialID: id, Pending: pending}, nil
}

// Logout revokes the session of a cookie value.
func (s *Service) Logout(ctx context.Context, secret string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE staff_sessions SET revoked_at = $1 WHERE secret_hash = $2
		AND revoked_at IS NULL`, toMs(s.opts.Now()), hashHex(secret))
	if err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}

// RevokeSession ends one session of a member.
func (s *Service) RevokeSession(ctx context.Context, staffID, sessionID string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE staff_sessions SET revoked_at = $1 WHERE id = $2 AND staff_id = $3
		AND revoked_at IS NULL`, toMs(s.opts.Now()), sessionID, staffID)
	return changed(res, err, "revoke session", "session")
}

// Sessions lists a member's sessions that are still open, newest first.
func (s *Service) Sessions(ctx context.Context, staffID string) ([]Session, error) {
	now := s.opts.Now()
	rows, err := s.db.Read().QueryContext(ctx, `SELECT id, staff_id, pending, ip, user_agent, created_at, seen_at,
		expires_at FROM staff_sessions WHERE staff_id = $1 AND revoked_at IS NULL AND expires_at > $2
		AND seen_at > $3 ORDER BY created_at DESC`, staffID, toMs(now), toMs(now.Add(-s.opts.SessionIdle)))
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		var ses Session
		var c, seen, exp int64
		if err := rows.Scan(&ses.ID, &ses.StaffID, &ses.Pending, &ses.IP, &ses.UserAgent, &c, &seen, &exp); err != nil {
			return nil, fmt.Errorf("list sessions: %w", err)
		}
		ses.CreatedAt, ses.SeenAt, ses.ExpiresAt = time.UnixMilli(c).UTC(), time.UnixMilli(seen).UTC(), time.UnixMilli(exp).UTC()
		out = append(out, ses)
	}
	return out, rows.Err()
}

// PurgeSessions deletes sessions that ended before cutoff.
func (s *Service) PurgeSessions(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM staff_sessions WHERE expires_at < $1 OR revoked_at < $1`, toMs(cutoff))
	if err != nil {
		return 0, fmt.Errorf("purge sessions: %w", err)
	}
	return res.RowsAffected()
}

// scanPrefix scans dst first, then the member's columns.
type scanPrefix struct {
	row interface{ Scan(...any) error }
	dst []any
}

func (p scanPrefix) Scan(rest ...any) error { return p.row.Scan(append(p.dst, rest...)...) }

func prefixed(prefix, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = prefix + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}
