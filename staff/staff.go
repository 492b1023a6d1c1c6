// Package staff holds the people who operate Firebreak: their accounts and
// roles, passwords (argon2id), optional TOTP second factors, console
// sessions with idle and absolute timeouts, and personal admin API tokens.
// The admin API and the console authenticate through it and check the same
// role permissions (Role.Can), so every change is made by a known person.
//
// It keeps no secret in plain text: passwords are argon2id hashes, session
// and token secrets SHA-256 hashes, TOTP secrets sealed with a key derived
// from the server secret.
package staff

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/store"
)

// Errors a caller may match with errors.Is.
var (
	// ErrInvalid matches every error that rejects a caller's input.
	ErrInvalid = errors.New("invalid input")
	// ErrNameTaken: another member has that name.
	ErrNameTaken error = clienterr.New(clienterr.Conflict, "staff name taken")
	// ErrBadCredentials: wrong name, password, code or token. It never
	// says which.
	ErrBadCredentials = errors.New("invalid credentials")
	// ErrLocked: too many failed logins; the account is locked for a while.
	ErrLocked = errors.New("account locked after repeated failed logins")
	// ErrThrottled: too many login attempts from one source.
	ErrThrottled = errors.New("too many login attempts")
	// ErrLastAdmin: the change would leave no active admin.
	ErrLastAdmin error = clienterr.New(clienterr.Conflict, "the last active admin cannot be demoted or disabled")
	// ErrNoSession: no such session, or it expired or was revoked.
	ErrNoSession = errors.New("no valid session")
)

type invalidError struct{ msg string }

func (e invalidError) Error() string        { return e.msg }
func (e invalidError) Is(target error) bool { return target == ErrInvalid }

// ClientCode makes a rejected input a 400 whose message is the error's own.
func (invalidError) ClientCode() clienterr.Code { return clienterr.InvalidRequest }

func invalidf(format string, args ...any) error {
	return invalidError{msg: fmt.Sprintf(format, args...)}
}

// Options configures New.
type Options struct {
	// DB is the store handle. Required.
	DB *store.DB
	// Secret is the server secret; TOTP secrets are sealed with a key
	// derived from it. Required, at least 16 bytes.
	Secret []byte
	// Argon2 is the cost of new password hashes. Default DefaultArgon2.
	Argon2 Argon2
	// RequireTOTP lists the roles that must use a second factor: their
	// members must set TOTP up before the console lets them do anything.
	// Default none.
	RequireTOTP []Role
	// MaxFailures is how many failed logins in a row lock an account.
	// Default 5.
	MaxFailures int
	// Lockout is how long a locked account stays locked. Default 15 minutes.
	Lockout time.Duration
	// LoginRate caps login attempts per source address per minute,
	// whatever the account (an IPv6 /64 counts as one address), across
	// every replica on the database. Default 20.
	LoginRate int
	// SessionIdle ends a session not used for this long. Default 30 minutes.
	SessionIdle time.Duration
	// SessionMax ends a session this long after login, used or not.
	// Default 12 hours.
	SessionMax time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Service is the staff store. Safe for concurrent use.
type Service struct {
	db       *store.DB
	opts     Options
	seal     *sealer
	throttle *throttle
	dummy    string // a password hash compared against when the name is unknown
}

// New validates opts.
func New(opts Options) (*Service, error) {
	if opts.DB == nil {
		return nil, errors.New("staff: Options.DB is required")
	}
	if opts.MaxFailures < 0 || opts.Lockout < 0 || opts.LoginRate < 0 || opts.SessionIdle < 0 || opts.SessionMax < 0 {
		return nil, errors.New("staff: negative option")
	}
	for _, r := range opts.RequireTOTP {
		if !r.Valid() {
			return nil, fmt.Errorf("staff: RequireTOTP: unknown role %q", r)
		}
	}
	opts = withDefaults(opts)
	seal, err := newSealer(opts.Secret)
	if err != nil {
		return nil, err
	}
	dummy, err := opts.Argon2.hashPassword(randomString(16))
	if err != nil {
		return nil, err
	}
	return &Service{db: opts.DB, opts: opts, seal: seal, throttle: newThrottle(opts.DB, opts.LoginRate), dummy: dummy}, nil
}

func withDefaults(o Options) Options {
	if o.Argon2 == (Argon2{}) {
		o.Argon2 = DefaultArgon2
	}
	if o.MaxFailures == 0 {
		o.MaxFailures = 5
	}
	if o.Lockout == 0 {
		o.Lockout = 15 * time.Minute
	}
	if o.LoginRate == 0 {
		o.LoginRate = 20
	}
	if o.SessionIdle == 0 {
		o.SessionIdle = 30 * time.Minute
	}
	if o.SessionMax == 0 {
		o.SessionMax = 12 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// TOTPRequired reports whether members of role r must use a second factor.
func (s *Service) TOTPRequired(r Role) bool { return slices.Contains(s.opts.RequireTOTP, r) }

// SessionIdle and SessionMax report the configured session timeouts.
func (s *Service) SessionIdle() time.Duration { return s.opts.SessionIdle }
func (s *Service) SessionMax() time.Duration  { return s.opts.SessionMax }

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.ToLower(b32.EncodeToString(b))
}

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func toMs(t time.Time) int64 { return t.UnixMilli() }

func fromNullMs(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMilli(v.Int64).UTC()
}

func nullMs(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

var nameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

func checkName(name string) error {
	if !nameRe.MatchString(name) {
		return invalidf("name %q: want 1-63 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit", name)
	}
	return nil
}

func encodeList(l []string) string {
	if len(l) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(l)
	return string(b)
}

func decodeList(s string) ([]string, error) {
	var l []string
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		return nil, fmt.Errorf("stored list: %w", err)
	}
	return l, nil
}

// notFound maps sql.ErrNoRows to the not-found error of thing, and wraps
// any other error of op.
func notFound(err error, op, thing string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.NotFound(thing)
	}
	return fmt.Errorf("%s: %w", op, err)
}

func equalHex(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// changed maps an UPDATE that touched no row to the not-found error of
// thing, and wraps any other error of op.
func changed(res sql.Result, err error, op, thing string) error {
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.NotFound(thing)
	}
	return nil
}

// collect scans every row with scan.
func collect[T any](rows *sql.Rows, err error, what string, scan func(interface{ Scan(...any) error }) (*T, error)) ([]T, error) {
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, *v)
	}
	return out, rows.Err()
}
