package staff

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pquerna/otp/totp"
)

// Login checks a name and password. On success it opens a session: a full
// one, or one pending the TOTP code (the member has TOTP) or TOTP
// enrolment (the role requires TOTP and the member has none). Wrong names,
// wrong passwords and disabled accounts all answer ErrBadCredentials; the
// MaxFailures-th failure in a row locks the account for Lockout
// (ErrLocked), and more than LoginRate attempts a minute from one address
// (counted on the database, across replicas) answer ErrThrottled. The
// member is returned whenever the name exists, so the caller can record
// the attempt against it.
func (s *Service) Login(ctx context.Context, name, password string, c Client) (*Session, *Member, error) {
	now := s.opts.Now()
	if ok, err := s.throttle.allow(ctx, c.IP, now); err != nil || !ok {
		return nil, nil, cmp.Or(err, ErrThrottled)
	}
	if len(password) > MaxPassword {
		return nil, nil, ErrBadCredentials
	}
	m, hash, err := s.credentials(ctx, name)
	if errors.Is(err, sql.ErrNoRows) {
		_, _ = verifyPassword(s.dummy, password) // the same work as for a real name
		return nil, nil, ErrBadCredentials
	}
	if err != nil {
		return nil, nil, fmt.Errorf("login: %w", err)
	}
	if now.Before(m.LockedUntil) {
		return nil, m, ErrLocked
	}
	n, err := s.reserve(ctx, m, now)
	if err != nil {
		return nil, m, err
	}
	ok := false
	if hash != "" {
		if ok, err = verifyPassword(hash, password); err != nil {
			return nil, m, fmt.Errorf("login %s: %w", m.Name, err)
		}
	} else {
		_, _ = verifyPassword(s.dummy, password)
	}
	if !ok {
		return nil, m, s.failed(ctx, m, n, now)
	}
	if m.State != StateActive {
		return nil, m, ErrBadCredentials
	}
	pending := PendingNone
	switch {
	case m.TOTP:
		pending = PendingTOTP
	case s.TOTPRequired(m.Role):
		pending = PendingEnroll
	}
	var ses *Session
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if pending != PendingTOTP {
			if _, err := tx.ExecContext(ctx, `UPDATE staff SET failed_logins = 0, locked_until = NULL,
				last_login_at = $1 WHERE id = $2`, toMs(now), m.ID); err != nil {
				return err
			}
		} else if _, err := tx.ExecContext(ctx, `UPDATE staff SET failed_logins = CASE WHEN failed_logins > 0
			THEN failed_logins - 1 ELSE 0 END WHERE id = $1`, m.ID); err != nil {
			return err // the right password gives back its attempt: the code will count its own
		}
		ses, err = s.newSession(ctx, tx, m.ID, pending, c)
		return err
	})
	if err != nil {
		return nil, m, fmt.Errorf("login: %w", err)
	}
	return ses, m, nil
}

func (s *Service) credentials(ctx context.Context, name string) (*Member, string, error) {
	var hash string
	row := s.db.QueryRowContext(ctx, `SELECT password_hash, `+memberColumns+` FROM staff WHERE name = $1`,
		strings.ToLower(strings.TrimSpace(name)))
	m, err := scanMember(scanPrefix{row: row, dst: []any{&hash}})
	return m, hash, err
}

// reserve counts an attempt against the member before its password or
// code is checked, in one statement, and returns its number in the
// current run; a success resets the run. Counting first bounds the guesses
// of a run to MaxFailures even when attempts arrive in parallel (on any
// replica): one counted past MaxFailures, or made while locked, is refused
// unchecked (ErrLocked).
func (s *Service) reserve(ctx context.Context, m *Member, now time.Time) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `UPDATE staff SET failed_logins = failed_logins + 1
		WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $2) RETURNING failed_logins`, m.ID, toMs(now)).Scan(&n)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, ErrLocked
	case err != nil:
		return 0, fmt.Errorf("count login attempt: %w", err)
	case n > s.opts.MaxFailures:
		return n, ErrLocked
	}
	return n, nil
}

// failed ends a failed attempt, the n-th of its run: the MaxFailures-th
// locks the account for Lockout and starts a new run.
func (s *Service) failed(ctx context.Context, m *Member, n int, now time.Time) error {
	if n < s.opts.MaxFailures {
		return ErrBadCredentials
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE staff SET failed_logins = 0, locked_until = $1 WHERE id = $2`,
		toMs(now.Add(s.opts.Lockout)), m.ID); err != nil {
		return fmt.Errorf("lock account: %w", err)
	}
	return ErrLocked
}

// SecondFactor completes a login pending its TOTP code: on a right code
// the pending session is replaced by a full one (a new cookie value). A
// wrong code counts as a failed login.
func (s *Service) SecondFactor(ctx context.Context, secret, code string, c Client) (*Session, *Member, error) {
	p, err := s.Authenticate(ctx, secret)
	if err != nil {
		return nil, nil, err
	}
	if p.Pending != PendingTOTP {
		return nil, nil, ErrNoSession
	}
	now := s.opts.Now()
	if ok, err := s.throttle.allow(ctx, c.IP, now); err != nil || !ok {
		return nil, &p.Member, cmp.Or(err, ErrThrottled)
	}
	if now.Before(p.Member.LockedUntil) {
		return nil, &p.Member, ErrLocked
	}
	n, err := s.reserve(ctx, &p.Member, now)
	if err != nil {
		return nil, &p.Member, err
	}
	if err := s.useCode(ctx, p.Member.ID, code, now); err != nil {
		if errors.Is(err, ErrBadCredentials) {
			return nil, &p.Member, s.failed(ctx, &p.Member, n, now)
		}
		return nil, &p.Member, err
	}
	var ses *Session
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE staff_sessions SET revoked_at = $1 WHERE id = $2`, toMs(now), p.CredentialID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE staff SET failed_logins = 0, locked_until = NULL,
			last_login_at = $1 WHERE id = $2`, toMs(now), p.Member.ID); err != nil {
			return err
		}
		ses, err = s.newSession(ctx, tx, p.Member.ID, PendingNone, c)
		return err
	})
	if err != nil {
		return nil, &p.Member, fmt.Errorf("second factor: %w", err)
	}
	return ses, &p.Member, nil
}

// useCode accepts a TOTP code of the member's enabled secret once: a code
// of a time step at or before the last accepted one is refused (no replay).
func (s *Service) useCode(ctx context.Context, staffID, code string, now time.Time) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		var sealed string
		var last int64
		var enabled bool
		if err := tx.QueryRowContext(ctx, `SELECT totp_secret, totp_enabled, totp_last_step FROM staff WHERE id = $1`,
			staffID).Scan(&sealed, &enabled, &last); err != nil {
			return err
		}
		return s.acceptCode(ctx, tx, staffID, sealed, code, last, now)
	})
}

func (s *Service) acceptCode(ctx context.Context, tx *sql.Tx, staffID, sealed, code string, last int64, now time.Time) error {
	if sealed == "" {
		return ErrBadCredentials
	}
	secret, err := s.seal.open(sealed, staffID)
	if err != nil {
		return err
	}
	step := matchTOTP(secret, code, now)
	if step == 0 || step <= last {
		return ErrBadCredentials
	}
	_, err = tx.ExecContext(ctx, `UPDATE staff SET totp_last_step = $1 WHERE id = $2`, step, staffID)
	return err
}

// Enrolment is a new TOTP secret awaiting its first code.
type Enrolment struct {
	Secret string // base32, for typing into an authenticator
	URL    string // otpauth:// URL, for a QR code
}

// BeginTOTP makes a new TOTP secret for a member and keeps it, sealed, until
// ConfirmTOTP proves the member's authenticator has it. A member who
// already uses TOTP must DisableTOTP first.
func (s *Service) BeginTOTP(ctx context.Context, id string) (Enrolment, error) {
	m, err := s.Get(ctx, id)
	if err != nil {
		return Enrolment{}, err
	}
	if m.TOTP {
		return Enrolment{}, invalidf("TOTP is already set up; turn it off first")
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: "Firebreak", AccountName: m.Name, Period: totpPeriod})
	if err != nil {
		return Enrolment{}, fmt.Errorf("begin totp: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE staff SET totp_secret = $1, totp_last_step = 0, updated_at = $2
		WHERE id = $3`, s.seal.seal(key.Secret(), id), toMs(s.opts.Now()), id); err != nil {
		return Enrolment{}, fmt.Errorf("begin totp: %w", err)
	}
	return Enrolment{Secret: key.Secret(), URL: key.URL()}, nil
}

// ConfirmTOTP turns TOTP on when code matches the secret BeginTOTP made,
// and turns the member's sessions pending enrolment into full ones.
func (s *Service) ConfirmTOTP(ctx context.Context, id, code string) error {
	now := s.opts.Now()
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		var sealed string
		var enabled bool
		if err := tx.QueryRowContext(ctx, `SELECT totp_secret, totp_enabled FROM staff WHERE id = $1`, id).
			Scan(&sealed, &enabled); err != nil {
			return notFound(err, "confirm totp", "TOTP enrolment")
		}
		if enabled {
			return invalidf("TOTP is already set up")
		}
		if err := s.acceptCode(ctx, tx, id, sealed, code, 0, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE staff SET totp_enabled = TRUE, updated_at = $1 WHERE id = $2`,
			toMs(now), id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE staff_sessions SET pending = '' WHERE staff_id = $1 AND pending = $2`,
			id, PendingEnroll)
		return err
	})
}

// DisableTOTP removes a member's second factor (an admin's reset, or the
// member's own choice where the role does not require one).
func (s *Service) DisableTOTP(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE staff SET totp_secret = '', totp_enabled = FALSE, totp_last_step = 0,
		updated_at = $1 WHERE id = $2`, toMs(s.opts.Now()), id)
	return changed(res, err, "disable totp", "TOTP enrolment")
}
