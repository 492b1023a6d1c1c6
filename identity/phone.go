package identity

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/internal/clientip"
	"github.com/firebreak/firebreak/safety/pii"
)

// PhoneOptions tunes the built-in phone verification flow. Send limits
// count fixed windows (clock minute, clock hour, local calendar day) in the
// database, so they hold across replicas; a negative limit disables one.
type PhoneOptions struct {
	// CodeTTL is how long a code stays valid. Default 5 minutes.
	CodeTTL time.Duration `json:"code_ttl" yaml:"code_ttl"`
	// MaxAttempts is how many wrong guesses kill a code. Default 5.
	MaxAttempts int `json:"max_attempts" yaml:"max_attempts"`
	// PerPhoneMinute caps codes sent to one number per minute. Default 1.
	PerPhoneMinute int `json:"per_phone_minute" yaml:"per_phone_minute"`
	// PerPhoneDay caps codes sent to one number per local day. Default 5.
	PerPhoneDay int `json:"per_phone_day" yaml:"per_phone_day"`
	// PerIPHour caps codes requested from one client IP (an IPv6 /64) per hour.
	// Default 20.
	PerIPHour int `json:"per_ip_hour" yaml:"per_ip_hour"`
	// Message is the text sent; "{code}" and "{minutes}" are replaced.
	// Default "验证码 {code}，{minutes} 分钟内有效。如非本人操作，请忽略本短信。"
	Message string `json:"message" yaml:"message"`
}

func (o PhoneOptions) validate() error {
	if o.CodeTTL < 0 || o.MaxAttempts < 0 {
		return errors.New("negative phone code option")
	}
	if o.Message != "" && !strings.Contains(o.Message, "{code}") {
		return errors.New("Phone.Message must contain {code}")
	}
	return nil
}

func (o PhoneOptions) withDefaults() PhoneOptions {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.MaxAttempts, 5)
	def(&o.PerPhoneMinute, 1)
	def(&o.PerPhoneDay, 5)
	def(&o.PerIPHour, 20)
	if o.CodeTTL == 0 {
		o.CodeTTL = 5 * time.Minute
	}
	if o.Message == "" {
		o.Message = "验证码 {code}，{minutes} 分钟内有效。如非本人操作，请忽略本短信。"
	}
	return o
}

// StartPhone sends a fresh 6-digit code to phone for the tenant's end
// user, replacing any code pending for them. clientIP ("" to skip) is
// counted against PerIPHour, an IPv6 address by its /64. Refusals are *clienterr.Error: 400 for a bad
// number, 404 for a user of another tenant, 429 with Retry-After when a
// send limit is reached, 503 when the Sender fails.
func (s *Service) StartPhone(ctx context.Context, tenantID, endUserID, phone, clientIP string) error {
	num, err := NormalizePhone(phone)
	if err != nil {
		return invalid(err, "phone", "not a valid mainland China mobile number")
	}
	u, err := s.tenantUser(ctx, tenantID, endUserID)
	if err != nil {
		return err
	}
	code, err := newCode()
	if err != nil {
		return fmt.Errorf("start phone verification: %w", err)
	}
	now := s.opts.Now()
	phoneHash := s.mac(domainPhone, num)
	var refusal *clienterr.Error
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if refusal, err = s.countSend(ctx, tx, phoneHash, clientIP, now); err != nil {
			return err
		}
		if refusal != nil {
			return refusal // roll back: a refused request consumes no count
		}
		return s.putCode(ctx, tx, u, phoneHash, pii.MaskMobile(num), code, now)
	})
	if refusal != nil {
		return refusal
	}
	if err != nil {
		return fmt.Errorf("start phone verification: %w", err)
	}
	if err := s.opts.Sender.Send(ctx, num, s.message(code)); err != nil {
		s.opts.Logger.Warn("send verification code", "user", u.ID, "phone", pii.MaskMobile(num), "err", err)
		return clienterr.Wrap(clienterr.Unavailable, err, "could not send the verification code; try again later")
	}
	s.opts.Logger.Info("verification code sent", "user", u.ID, "phone", pii.MaskMobile(num))
	return nil
}

// tenantUser finds the end user and checks that it is the tenant's.
func (s *Service) tenantUser(ctx context.Context, tenantID, userID string) (*account.EndUser, error) {
	u, err := s.opts.Users.Get(ctx, userID)
	if err == nil && u.TenantID != tenantID {
		err = ErrUnknownUser
	}
	if err != nil {
		return nil, clienterr.Wrap(clienterr.NotFound, fmt.Errorf("%w: %w", ErrUnknownUser, err), "unknown end user")
	}
	return u, nil
}

// sendWindow is one send limit: a subject prefix, its window and its cap.
type sendWindow struct {
	prefix, what string
	limit        int
	win          int64
	end          time.Time
}

// countSend counts one send against every limit, and returns a refusal
// (with a nil error) when one is reached.
func (s *Service) countSend(ctx context.Context, tx *sql.Tx, phoneHash, clientIP string, now time.Time) (*clienterr.Error, error) {
	o := s.opts.Phone
	minute, hour := now.Unix()/60, now.Unix()/3600
	day, midnight := localDay(now.In(s.opts.Location))
	windows := []sendWindow{
		{"phone-min:" + phoneHash, "this phone number", o.PerPhoneMinute, minute, time.Unix((minute+1)*60, 0)},
		{"phone-day:" + phoneHash, "this phone number today", o.PerPhoneDay, day, midnight},
	}
	if clientIP != "" {
		windows = append(windows, sendWindow{"ip-hour:" + s.mac(domainIP, clientip.Network(clientIP)), "this network address",
			o.PerIPHour, hour, time.Unix((hour+1)*3600, 0)})
	}
	for _, w := range windows {
		if w.limit < 0 {
			continue
		}
		ok, err := bump(ctx, tx, w.prefix, w.win, w.end.UnixMilli(), w.limit)
		if err != nil {
			return nil, err
		}
		if !ok {
			return limited(ErrSendLimited, w.end.Sub(now), "too many verification codes for "+w.what+"; try again later"), nil
		}
	}
	return nil, nil
}

func (s *Service) putCode(ctx context.Context, tx *sql.Tx, u *account.EndUser, phoneHash, masked, code string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO identity_codes
		(user_id, tenant_id, phone_hash, phone_masked, code_hash, attempts, expires_at, used_at, created_at)
		VALUES ($1, $2, $3, $4, $5, 0, $6, NULL, $7)
		ON CONFLICT (user_id) DO UPDATE SET tenant_id = excluded.tenant_id, phone_hash = excluded.phone_hash,
			phone_masked = excluded.phone_masked, code_hash = excluded.code_hash, attempts = 0,
			expires_at = excluded.expires_at, used_at = NULL, created_at = excluded.created_at`,
		u.ID, u.TenantID, phoneHash, masked, s.codeHash(u.ID, phoneHash, code),
		now.Add(s.opts.Phone.CodeTTL).UnixMilli(), now.UnixMilli())
	if err != nil {
		return fmt.Errorf("store code: %w", err)
	}
	return nil
}

// codeHash binds a code to the user and the number it was sent to, so a
// code is worth nothing for another user or another number.
func (s *Service) codeHash(userID, phoneHash, code string) string {
	return s.mac(domainCode, userID, phoneHash, code)
}

func (s *Service) message(code string) string {
	minutes := strconv.Itoa(int(s.opts.Phone.CodeTTL.Round(time.Minute) / time.Minute))
	return strings.NewReplacer("{code}", code, "{minutes}", minutes).Replace(s.opts.Phone.Message)
}

// newCode returns six uniformly random decimal digits.
func newCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

// ConfirmPhone checks code against the one sent to phone for the end user
// and, if it matches, records LevelPhone (unless the user already has a
// higher level) with the number's hash and masked form. Every call counts
// as an attempt; after MaxAttempts wrong ones, past CodeTTL, or once
// used, the code is dead. Refusals are 400 *clienterr.Error whose cause is one
// of ErrWrongCode, ErrCodeExpired, ErrTooManyAttempts, ErrCodeUsed or
// ErrNoCode.
func (s *Service) ConfirmPhone(ctx context.Context, tenantID, endUserID, phone, code string) error {
	num, err := NormalizePhone(phone)
	if err != nil {
		return invalid(err, "phone", "not a valid mainland China mobile number")
	}
	u, err := s.tenantUser(ctx, tenantID, endUserID)
	if err != nil {
		return err
	}
	now := s.opts.Now()
	phoneHash := s.mac(domainPhone, num)
	stored, masked, attempts, err := s.attempt(ctx, u.ID, now)
	if err != nil {
		return err
	}
	if !hmac.Equal([]byte(stored), []byte(s.codeHash(u.ID, phoneHash, code))) {
		left := s.opts.Phone.MaxAttempts - attempts
		msg := fmt.Sprintf("wrong verification code; %d attempts left", left)
		if left <= 0 {
			msg = "wrong verification code; request a new one"
		}
		return invalid(ErrWrongCode, "code", msg)
	}
	err = s.write(ctx, u.ID, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE identity_codes SET used_at = $2
			WHERE user_id = $1 AND used_at IS NULL AND code_hash = $3`, u.ID, now.UnixMilli(), stored)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return errors.Join(err, ErrCodeUsed) // a concurrent confirmation won
		}
		return s.merge(ctx, tx, record{userID: u.ID, tenantID: u.TenantID, level: LevelPhone, method: MethodSMS,
			phoneHash: phoneHash, phoneMasked: masked, at: now})
	})
	if errors.Is(err, ErrCodeUsed) {
		return invalid(ErrCodeUsed, "code", "verification code already used; request a new one")
	}
	if err != nil {
		return fmt.Errorf("confirm phone: %w", err)
	}
	s.opts.Logger.Info("phone verified", "user", u.ID, "phone", masked)
	return nil
}

// attempt counts one attempt on the user's live code and returns its hash,
// the masked number and the attempts so far; when there is no live code it
// returns the refusal that says why.
func (s *Service) attempt(ctx context.Context, userID string, now time.Time) (hash, masked string, attempts int, err error) {
	err = s.db.QueryRowContext(ctx, `UPDATE identity_codes SET attempts = attempts + 1
		WHERE user_id = $1 AND used_at IS NULL AND attempts < $2 AND expires_at > $3
		RETURNING code_hash, phone_masked, attempts`,
		userID, s.opts.Phone.MaxAttempts, now.UnixMilli()).Scan(&hash, &masked, &attempts)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", 0, s.deadCode(ctx, userID, now)
	}
	if err != nil {
		return "", "", 0, fmt.Errorf("confirm phone: %w", err)
	}
	return hash, masked, attempts, nil
}

// deadCode explains why the user has no live code.
func (s *Service) deadCode(ctx context.Context, userID string, now time.Time) error {
	var (
		used     sql.NullInt64
		attempts int
		expires  int64
	)
	err := s.db.QueryRowContext(ctx, `SELECT used_at, attempts, expires_at FROM identity_codes WHERE user_id = $1`,
		userID).Scan(&used, &attempts, &expires)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return invalid(ErrNoCode, "code", "no verification code was requested; request one first")
	case err != nil:
		return fmt.Errorf("confirm phone: %w", err)
	case used.Valid:
		return invalid(ErrCodeUsed, "code", "verification code already used; request a new one")
	case attempts >= s.opts.Phone.MaxAttempts:
		return invalid(ErrTooManyAttempts, "code", "too many wrong codes; request a new one")
	default:
		return invalid(ErrCodeExpired, "code", "verification code expired; request a new one")
	}
}
