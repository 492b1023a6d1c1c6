package identity

import (
	"errors"
	"fmt"
	"time"

	"github.com/firebreak/firebreak/clienterr"
)

// Causes carried by the *clienterr.Error values this package returns; match
// them with errors.Is. The client sees only the clienterr.Error's message.
var (
	ErrVerificationRequired = errors.New("verification level too low")
	ErrQuietHours           = errors.New("minors' quiet hours")
	ErrDailyLimit           = errors.New("minors' daily limit reached")
	ErrBadPhone             = errors.New("not a mainland mobile number")
	ErrBadIDNumber          = errors.New("invalid resident ID number")
	ErrOtherIDNumber        = errors.New("another ID number is verified for this end user")
	ErrBadCreditCode        = errors.New("invalid unified social credit code")
	ErrBadName              = errors.New("invalid name")
	ErrNoCode               = errors.New("no verification code pending")
	ErrWrongCode            = errors.New("wrong verification code")
	ErrCodeExpired          = errors.New("verification code expired")
	ErrCodeUsed             = errors.New("verification code already used")
	ErrTooManyAttempts      = errors.New("too many wrong codes")
	ErrSendLimited          = errors.New("verification code send limit reached")
	ErrUnknownUser          = errors.New("unknown end user")
	ErrBadToken             = errors.New("invalid identity token")
)

// LevelError is the cause of a refusal by Check: what the model needs and
// what the user has. Get it with errors.As.
type LevelError struct {
	Model string
	Need  Level
	Have  Level
}

func (e *LevelError) Error() string {
	return fmt.Sprintf("model %q needs %s verification, user has %s", e.Model, e.Need, e.Have)
}

// Unwrap lets errors.Is match ErrVerificationRequired.
func (e *LevelError) Unwrap() error { return ErrVerificationRequired }

// MinorError is the cause of a refusal by MinorGate. Until is when the
// service opens again for the user: the end of quiet hours, or the next
// local midnight for the daily limit.
type MinorError struct {
	Reason error // ErrQuietHours or ErrDailyLimit
	Until  time.Time
}

func (e *MinorError) Error() string {
	return fmt.Sprintf("%v until %s", e.Reason, e.Until.Format(time.RFC3339))
}

// Unwrap lets errors.Is match the reason.
func (e *MinorError) Unwrap() error { return e.Reason }

// invalid is a 400 whose message the client may see, with cause err.
func invalid(err error, param, message string) *clienterr.Error {
	e := clienterr.Wrap(clienterr.InvalidRequest, err, message)
	e.Param = param
	return e
}

// limited is a 429 that says when to try again.
func limited(err error, wait time.Duration, message string) *clienterr.Error {
	e := clienterr.Wrap(clienterr.RateLimited, err, message)
	e.RetryAfter = max(wait, time.Second)
	return e
}
