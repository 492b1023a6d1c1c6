package openai

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Code names a class of failure the client may see. The table below maps each
// code to its HTTP status and to the OpenAI error "type" field.
type Code string

const (
	CodeInvalidRequest  Code = "invalid_request"     // 400
	CodeInvalidJSON     Code = "invalid_json"        // 400
	CodeInvalidAPIKey   Code = "invalid_api_key"     // 401
	CodeModelNotAllowed Code = "model_not_allowed"   // 403
	CodeForbidden       Code = "forbidden"           // 403
	CodeNotFound        Code = "not_found"           // 404
	CodeModelNotFound   Code = "model_not_found"     // 404
	CodeConflict        Code = "conflict"            // 409
	CodeBodyTooLarge    Code = "request_too_large"   // 413
	CodeRateLimited     Code = "rate_limit_exceeded" // 429
	CodeQuotaExceeded   Code = "insufficient_quota"  // 429
	CodeInternal        Code = "internal_error"      // 500
	CodeUpstreamError   Code = "upstream_error"      // 502
	CodeUnavailable     Code = "service_unavailable" // 503
	CodeUpstreamTimeout Code = "upstream_timeout"    // 504
)

type codeInfo struct {
	status int
	typ    string
}

var codes = map[Code]codeInfo{
	CodeInvalidRequest:  {http.StatusBadRequest, "invalid_request_error"},
	CodeInvalidJSON:     {http.StatusBadRequest, "invalid_request_error"},
	CodeInvalidAPIKey:   {http.StatusUnauthorized, "authentication_error"},
	CodeModelNotAllowed: {http.StatusForbidden, "permission_error"},
	CodeForbidden:       {http.StatusForbidden, "permission_error"},
	CodeNotFound:        {http.StatusNotFound, "invalid_request_error"},
	CodeModelNotFound:   {http.StatusNotFound, "invalid_request_error"},
	CodeConflict:        {http.StatusConflict, "invalid_request_error"},
	CodeBodyTooLarge:    {http.StatusRequestEntityTooLarge, "invalid_request_error"},
	CodeRateLimited:     {http.StatusTooManyRequests, "rate_limit_error"},
	CodeQuotaExceeded:   {http.StatusTooManyRequests, "insufficient_quota"},
	CodeInternal:        {http.StatusInternalServerError, "server_error"},
	CodeUpstreamError:   {http.StatusBadGateway, "upstream_error"},
	CodeUnavailable:     {http.StatusServiceUnavailable, "server_error"},
	CodeUpstreamTimeout: {http.StatusGatewayTimeout, "timeout_error"},
}

// Error separates what a client may see (Code, Message, Param, RetryAfter)
// from the cause, which is kept for logs and errors.Is/As but never sent.
type Error struct {
	Code       Code
	Message    string        // safe for the client
	Param      string        // optional: the offending request field
	RetryAfter time.Duration // for 429 and 503: sent as Retry-After
	Err        error         // the cause; never sent to the client
}

// Errorf returns an *Error with a client-safe message and no cause.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error with a client-safe message that keeps err as its cause.
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

// Status is the HTTP status for the error's code (500 for an unknown code).
func (e *Error) Status() int {
	if info, ok := codes[e.Code]; ok {
		return info.status
	}
	return http.StatusInternalServerError
}

// Type is the OpenAI error "type" for the error's code.
func (e *Error) Type() string {
	if info, ok := codes[e.Code]; ok {
		return info.typ
	}
	return "server_error"
}

// ErrorBody is the OpenAI error envelope: {"error":{...}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inner object of an OpenAI error body.
type ErrorDetail struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    string  `json:"code"`
}

// Body returns the error in OpenAI's shape.
func (e *Error) Body() ErrorBody {
	d := ErrorDetail{Message: e.Message, Type: e.Type(), Code: string(e.Code)}
	if e.Param != "" {
		p := e.Param
		d.Param = &p
	}
	return ErrorBody{Error: d}
}

// AsError returns err as an *Error, wrapping anything else as an internal
// error whose cause is kept but whose message reveals nothing.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Wrap(CodeInternal, err, "internal error")
}

// WriteError writes err as an OpenAI-shaped JSON error response.
func WriteError(w http.ResponseWriter, err error) {
	e := AsError(err)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if e.RetryAfter > 0 {
		secs := int((e.RetryAfter + time.Second - 1) / time.Second)
		h.Set("Retry-After", strconv.Itoa(secs))
	}
	w.WriteHeader(e.Status())
	_ = json.NewEncoder(w).Encode(e.Body())
}
