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

// State is whether a member may log in.
type State string

const (
	StateActive   State = "active"
	StateDisabled State = "disabled"
)

// Languages the console speaks; "" follows the browser.
var Languages = []string{"zh-CN", "en"}

// Member is one staff account. Secrets are never part of it.
type Member struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
	Role  Role   `json:"role"`
	// Tenants limits the role to these tenant ids; empty means all.
	Tenants      []string  `json:"tenants"`
	State        State     `json:"state"`
	Language     string    `json:"language"`
	TOTP         bool      `json:"totp"`
	FailedLogins int       `json:"failed_logins"`
	LockedUntil  time.Time `json:"locked_until,omitzero"`
	LastLoginAt  time.Time `json:"last_login_at,omitzero"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Can reports whether the member is active and its role holds p.
func (m *Member) Can(p Permission) bool { return m.State == StateActive && m.Role.Can(p) }

// Limited reports whether the member's role is limited to some tenants.
func (m *Member) Limited() bool { return len(m.Tenants) > 0 }

// InTenant reports whether the member may act on tenant id.
func (m *Member) InTenant(id string) bool {
	if !m.Limited() {
		return true
	}
	for _, t := range m.Tenants {
		if t == id {
			return true
		}
	}
	return false
}

// NewMember is what Create needs.
type NewMember struct {
	Name     string
	Email    string
	Role     Role
	Tenants  []string
	Password string // "" leaves the account without a password: it cannot log in yet
	Language string
}

const memberColumns = `id, name, email, role, tenants, state, language, totp_enabled, failed_logins,
	locked_until, last_login_at, created_at, updated_at`

func scanMember(row interface{ Scan(...any) error }) (*Member, error) {
	var m Member
	var tenants string
	var locked, last sql.NullInt64
	var created, updated int64
	if err := row.Scan(&m.ID, &m.Name, &m.Email, &m.Role, &tenants, &m.State, &m.Language, &m.TOTP,
		&m.FailedLogins, &locked, &last, &created, &updated); err != nil {
		return nil, err
	}
	var err error
	if m.Tenants, err = decodeList(tenants); err != nil {
		return nil, err
	}
	m.LockedUntil, m.LastLoginAt = fromNullMs(locked), fromNullMs(last)
	m.CreatedAt, m.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return &m, nil
}

func checkLanguage(l string) error {
	if l == "" {
		return nil
	}
	for _, ok := range Languages {
		if l == ok {
			return nil
		}
	}
	return invalidf("language %q: want zh-CN, en or empty", l)
}

func checkEmail(e string) error {
	if e != "" && (len(e) > 254 || !strings.Contains(e, "@") || strings.ContainsAny(e, " \t\r\n<>\"")) {
		return invalidf("e-mail %q is not an address", e)
	}
	return nil
}

func checkTenants(ts []string) error {
	for _, t := range ts {
		if t == "" || len(t) > 64 {
			return invalidf("tenant id %q is not valid", t)
		}
	}
	return nil
}

// Create adds a member.
func (s *Service) Create(ctx context.Context, n NewMember) (*Member, error) {
	n.Name = strings.ToLower(strings.TrimSpace(n.Name))
	if err := checkName(n.Name); err != nil {
		return nil, err
	}
	if !n.Role.Valid() {
		return nil, invalidf("role %q: want one of admin, policy, reviewer, auditor, viewer", n.Role)
	}
	if err := errors.Join(checkEmail(n.Email), checkTenants(n.Tenants), checkLanguage(n.Language)); err != nil {
		return nil, err
	}
	var hash string
	var changed sql.NullInt64
	now := s.opts.Now()
	if n.Password != "" {
		if err := checkPassword(n.Password); err != nil {
			return nil, err
		}
		var err error
		if hash, err = s.opts.Argon2.hashPassword(n.Password); err != nil {
			return nil, err
		}
		changed = nullMs(now)
	}
	id := "stf_" + randomString(10)
	_, err := s.db.ExecContext(ctx, `INSERT INTO staff (id, name, email, role, tenants, state, language,
		password_hash, password_changed_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)`,
		id, n.Name, n.Email, string(n.Role), encodeList(n.Tenants), string(StateActive), n.Language, hash, changed, toMs(now))
	if store.IsUniqueViolation(err) {
		return nil, fmt.Errorf("create staff %q: %w", n.Name, ErrNameTaken)
	}
	if err != nil {
		return nil, fmt.Errorf("create staff: %w", err)
	}
	return s.Get(ctx, id)
}

// Get returns a member by id.
func (s *Service) Get(ctx context.Context, id string) (*Member, error) {
	m, err := scanMember(s.db.QueryRowContext(ctx, `SELECT `+memberColumns+` FROM staff WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, "get staff", "staff member")
	}
	return m, nil
}

// ByName returns a member by login name.
func (s *Service) ByName(ctx context.Context, name string) (*Member, error) {
	m, err := scanMember(s.db.QueryRowContext(ctx, `SELECT `+memberColumns+` FROM staff WHERE name = $1`,
		strings.ToLower(strings.TrimSpace(name))))
	if err != nil {
		return nil, notFound(err, "get staff by name", "staff member")
	}
	return m, nil
}

// List returns every member by name.
func (s *Service) List(ctx context.Context) ([]Member, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT `+memberColumns+` FROM staff ORDER BY name`)
	return collect(rows, err, "list staff", scanMember)
}

// CountAdmins returns the number of active, unlimited admins.
func (s *Service) CountAdmins(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM staff WHERE role = $1 AND state = $2 AND tenants = '[]'`,
		string(RoleAdmin), string(StateActive)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count admins: %w", err)
	}
	return n, nil
}

// Patch changes a member; nil fields stay.
type Patch struct {
	Email    *string
	Role     *Role
	Tenants  *[]string
	State    *State
	Language *string
}

// Update applies p. It refuses to leave the installation without an
// active, unlimited admin. Disabling a member ends its sessions and
// revokes its personal API tokens, so enabling it again brings none of
// them back. A role or tenant change needs no revocation: sessions and
// tokens act with the member's role and tenants as they are when used.
func (s *Service) Update(ctx context.Context, id string, p Patch) (*Member, error) {
	if p.Role != nil && !p.Role.Valid() {
		return nil, invalidf("role %q: want one of admin, policy, reviewer, auditor, viewer", *p.Role)
	}
	if p.State != nil && *p.State != StateActive && *p.State != StateDisabled {
		return nil, invalidf("state %q: want active or disabled", *p.State)
	}
	var errs []error
	if p.Email != nil {
		errs = append(errs, checkEmail(*p.Email))
	}
	if p.Tenants != nil {
		errs = append(errs, checkTenants(*p.Tenants))
	}
	if p.Language != nil {
		errs = append(errs, checkLanguage(*p.Language))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		m, err := scanMember(tx.QueryRowContext(ctx, `SELECT `+memberColumns+` FROM staff WHERE id = $1`, id))
		if err != nil {
			return notFound(err, "update staff", "staff member")
		}
		wasAdmin := m.Role == RoleAdmin && m.State == StateActive && !m.Limited()
		if p.Email != nil {
			m.Email = *p.Email
		}
		if p.Role != nil {
			m.Role = *p.Role
		}
		if p.Tenants != nil {
			m.Tenants = *p.Tenants
		}
		if p.State != nil {
			m.State = *p.State
		}
		if p.Language != nil {
			m.Language = *p.Language
		}
		if wasAdmin && (m.Role != RoleAdmin || m.State != StateActive || m.Limited()) {
			var others int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM staff WHERE role = $1 AND state = $2
				AND tenants = '[]' AND id <> $3`, string(RoleAdmin), string(StateActive), id).Scan(&others); err != nil {
				return err
			}
			if others == 0 {
				return ErrLastAdmin
			}
		}
		now := toMs(s.opts.Now())
		if _, err := tx.ExecContext(ctx, `UPDATE staff SET email = $1, role = $2, tenants = $3, state = $4,
			language = $5, updated_at = $6 WHERE id = $7`, m.Email, string(m.Role), encodeList(m.Tenants),
			string(m.State), m.Language, now, id); err != nil {
			return err
		}
		if m.State == StateDisabled {
			return revokeAll(ctx, tx, id, now)
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrLastAdmin) || errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		return nil, fmt.Errorf("update staff: %w", err)
	}
	return s.Get(ctx, id)
}

// SetPassword replaces a member's password, clears a lockout, ends
// every session of the member and revokes every personal API token of
// it (the caller logs in again and issues new tokens): a reset after a
// compromise cuts off whoever holds the old credentials, on every
// replica, since each use reads the database.
func (s *Service) SetPassword(ctx context.Context, id, password string) error {
	if err := checkPassword(password); err != nil {
		return err
	}
	hash, err := s.opts.Argon2.hashPassword(password)
	if err != nil {
		return err
	}
	now := toMs(s.opts.Now())
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE staff SET password_hash = $1, password_changed_at = $2,
			failed_logins = 0, locked_until = NULL, updated_at = $2 WHERE id = $3`, hash, now, id)
		if err := changed(res, err, "set password", "staff member"); err != nil {
			return err
		}
		return revokeAll(ctx, tx, id, now)
	})
}

// revokeAll ends every open session and revokes every token of a member.
func revokeAll(ctx context.Context, tx *sql.Tx, id string, now int64) error {
	if _, err := tx.ExecContext(ctx, `UPDATE staff_sessions SET revoked_at = $1 WHERE staff_id = $2
		AND revoked_at IS NULL`, now, id); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE staff_tokens SET revoked_at = $1 WHERE staff_id = $2
		AND revoked_at IS NULL`, now, id)
	return err
}

// CheckPassword reports whether password is the member's current one,
// without counting failures (re-authentication of a logged-in member).
func (s *Service) CheckPassword(ctx context.Context, id, password string) (bool, error) {
	var hash string
	if err := s.db.QueryRowContext(ctx, `SELECT password_hash FROM staff WHERE id = $1`, id).Scan(&hash); err != nil {
		return false, notFound(err, "check password", "staff member")
	}
	if hash == "" {
		return false, nil
	}
	return verifyPassword(hash, password)
}

// Unlock clears a member's lockout and failure count.
func (s *Service) Unlock(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE staff SET failed_logins = 0, locked_until = NULL, updated_at = $1
		WHERE id = $2`, toMs(s.opts.Now()), id)
	return changed(res, err, "unlock staff", "staff member")
}
