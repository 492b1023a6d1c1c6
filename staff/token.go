package staff

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/firebreak/firebreak/store"
)

// TokenPrefix starts every personal admin API token: fbs_<id>_<secret>.
const TokenPrefix = "fbs_"

// Token is a personal admin API token. It acts as its member, with the
// member's role and tenant limits as they are when it is used.
type Token struct {
	ID         string    `json:"id"`
	StaffID    string    `json:"staff_id"`
	Name       string    `json:"name"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at,omitzero"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
	Revoked    bool      `json:"revoked"`
}

// CreateToken issues a token for a member and returns it with its secret
// form, which is shown once and stored only as a hash. ttl 0 means no
// expiry.
func (s *Service) CreateToken(ctx context.Context, staffID, name string, ttl time.Duration) (*Token, string, error) {
	if len(name) > 64 {
		return nil, "", invalidf("token name must be at most 64 bytes")
	}
	if ttl < 0 {
		return nil, "", invalidf("token lifetime must not be negative")
	}
	now := s.opts.Now()
	t := &Token{ID: randomString(10), StaffID: staffID, Name: name, CreatedAt: now.UTC()}
	if ttl > 0 {
		t.ExpiresAt = now.Add(ttl).UTC()
	}
	secret := TokenPrefix + t.ID + "_" + randomString(24)
	_, err := s.db.ExecContext(ctx, `INSERT INTO staff_tokens (id, staff_id, name, secret_hash, created_at, expires_at)
		SELECT $1, id, $3, $4, $5, $6 FROM staff WHERE id = $2`, t.ID, staffID, name, hashHex(secret), toMs(now), nullMs(t.ExpiresAt))
	if err != nil {
		return nil, "", fmt.Errorf("create token: %w", err)
	}
	if _, err := s.token(ctx, t.ID); err != nil {
		return nil, "", store.NotFound("staff member")
	}
	return t, secret, nil
}

func (s *Service) token(ctx context.Context, id string) (*Token, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM staff_tokens WHERE id = $1`, id)
	t, err := scanToken(row)
	if err != nil {
		return nil, notFound(err, "get token", "token")
	}
	return t, nil
}

const tokenColumns = `id, staff_id, name, created_at, expires_at, last_used_at, revoked_at`

func scanToken(row interface{ Scan(...any) error }) (*Token, error) {
	var t Token
	var created int64
	var exp, used, revoked sql.NullInt64
	if err := row.Scan(&t.ID, &t.StaffID, &t.Name, &created, &exp, &used, &revoked); err != nil {
		return nil, err
	}
	t.CreatedAt, t.ExpiresAt, t.LastUsedAt, t.Revoked = time.UnixMilli(created).UTC(), fromNullMs(exp), fromNullMs(used), revoked.Valid
	return &t, nil
}

// AuthenticateToken returns the principal of a personal token. Revoked or
// expired tokens, and tokens of disabled members, are ErrBadCredentials.
func (s *Service) AuthenticateToken(ctx context.Context, secret string) (*Principal, error) {
	rest, ok := strings.CutPrefix(secret, TokenPrefix)
	id, _, ok2 := strings.Cut(rest, "_")
	if !ok || !ok2 || len(secret) > 128 {
		return nil, ErrBadCredentials
	}
	var hash string
	var exp, revoked, used sql.NullInt64
	row := s.db.Read().QueryRowContext(ctx, `SELECT t.secret_hash, t.expires_at, t.revoked_at, t.last_used_at, `+
		prefixed("m.", memberColumns)+` FROM staff_tokens t JOIN staff m ON m.id = t.staff_id WHERE t.id = $1`, id)
	m, err := scanMember(scanPrefix{row: row, dst: []any{&hash, &exp, &revoked, &used}})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrBadCredentials
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate token: %w", err)
	}
	now := s.opts.Now()
	if !equalHex(hash, hashHex(secret)) || revoked.Valid || (exp.Valid && now.UnixMilli() >= exp.Int64) || m.State != StateActive {
		return nil, ErrBadCredentials
	}
	if !used.Valid || now.Sub(time.UnixMilli(used.Int64)) >= time.Minute {
		if _, err := s.db.ExecContext(ctx, `UPDATE staff_tokens SET last_used_at = $1 WHERE id = $2`, toMs(now), id); err != nil {
			return nil, fmt.Errorf("touch token: %w", err)
		}
	}
	return &Principal{Member: *m, Via: ViaToken, CredentialID: id}, nil
}

// Tokens lists a member's tokens, newest first.
func (s *Service) Tokens(ctx context.Context, staffID string) ([]Token, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT `+tokenColumns+` FROM staff_tokens WHERE staff_id = $1
		ORDER BY created_at DESC`, staffID)
	return collect(rows, err, "list tokens", scanToken)
}

// RevokeToken revokes one of a member's tokens.
func (s *Service) RevokeToken(ctx context.Context, staffID, id string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE staff_tokens SET revoked_at = $1 WHERE id = $2 AND staff_id = $3
		AND revoked_at IS NULL`, toMs(s.opts.Now()), id, staffID)
	return changed(res, err, "revoke token", "token")
}
