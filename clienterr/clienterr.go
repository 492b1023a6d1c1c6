// Package clienterr is the one error type that separates what a client may
// see from what went wrong: a Code naming the class of failure, a Message
// safe to show, and the cause, which is kept for logs and errors.Is/As but
// never sent. Domains return these errors; the surfaces (the OpenAI API in
// package openai, the admin API) map a Code to an HTTP status and body.
//
// The package belongs to no surface, so a domain that refuses a request
// (a rate limit, a sanction, a missing verification) says so without
// importing the wire format. Anything that is not an *Error reaches a
// client only as an internal error whose message reveals nothing.
package clienterr

import (
	"errors"
	"fmt"
	"time"
)

// Code names a class of failure the client may see. The surfaces map each
// code to an HTTP status (noted beside it) and, for the OpenAI API, to the
// error "type" field.
type Code string

const (
	InvalidRequest  Code = "invalid_request"     // 400
	InvalidJSON     Code = "invalid_json"        // 400
	InvalidAPIKey   Code = "invalid_api_key"     // 401
	ModelNotAllowed Code = "model_not_allowed"   // 403
	Forbidden       Code = "forbidden"           // 403
	NotFound        Code = "not_found"           // 404
	ModelNotFound   Code = "model_not_found"     // 404
	Conflict        Code = "conflict"            // 409
	BodyTooLarge    Code = "request_too_large"   // 413
	RateLimited     Code = "rate_limit_exceeded" // 429
	QuotaExceeded   Code = "insufficient_quota"  // 429
	Internal        Code = "internal_error"      // 500
	UpstreamError   Code = "upstream_error"      // 502
	AnswerTooLarge  Code = "answer_too_large"    // 502: the model's answer passed the gateway's content cap
	Unavailable     Code = "service_unavailable" // 503
	Overloaded      Code = "gateway_overloaded"  // 503: answers in flight hold the whole memory budget
	UpstreamTimeout Code = "upstream_timeout"    // 504
)

// Error is a failure with a client-safe part (Code, Message, Param,
// RetryAfter) and a cause that is never sent.
type Error struct {
	Code       Code
	Message    string        // safe for the client
	Param      string        // optional: the offending request field
	RetryAfter time.Duration // for 429 and 503: sent as Retry-After
	Err        error         // the cause; never sent to the client
}

// New returns an *Error with a client-safe message and no cause. Declared
// as a package variable it is a sentinel: errors.Is matches it through any
// wrapping, and a client sees its message.
func New(code Code, message string) *Error { return &Error{Code: code, Message: message} }

// Errorf returns an *Error with a client-safe message and no cause. The
// arguments become part of the message: pass only what the client may see.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error with a client-safe message that keeps err as its
// cause.
func Wrap(code Code, err error, message string) *Error {
	return &Error{Code: code, Message: message, Err: err}
}

func (e *Error) Error() string {
	if e.Err != nil {
		return string(e.Code) + ": " + e.Message + ": " + e.Err.Error()
	}
	return string(e.Code) + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// NotFoundError is the error of a lookup that found nothing: What names
// the thing ("tenant", `upstream "a"`, "policy version 3f2a…") and Err is
// the sentinel it also matches (store.ErrNotFound).
type NotFoundError struct {
	What string
	Err  error
}

func (e *NotFoundError) Error() string { return e.What + " not found" }
func (e *NotFoundError) Unwrap() error { return e.Err }

// Coded is a domain error type that knows the code a client sees, and
// whose own text (not the context wrapped around it) is safe to show: a
// validation problem, a name that is taken.
type Coded interface {
	error
	ClientCode() Code
}

// As returns err as an *Error: an *Error in its chain as it is; a
// NotFoundError as a NotFound error naming what was missing; a Coded error
// with its code and its own text; anything else as an internal error whose
// cause is kept but whose message reveals nothing.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var nf *NotFoundError
	if errors.As(err, &nf) {
		return Wrap(NotFound, err, nf.Error())
	}
	var c Coded
	if errors.As(err, &c) {
		return Wrap(c.ClientCode(), err, c.Error())
	}
	return Wrap(Internal, err, "internal error")
}
