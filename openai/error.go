package openai

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/firebreak/firebreak/clienterr"
)

// codes maps each clienterr code to its HTTP status and OpenAI error type.
var codes = map[clienterr.Code]struct {
	status int
	typ    string
}{
	clienterr.InvalidRequest:  {http.StatusBadRequest, "invalid_request_error"},
	clienterr.InvalidJSON:     {http.StatusBadRequest, "invalid_request_error"},
	clienterr.InvalidAPIKey:   {http.StatusUnauthorized, "authentication_error"},
	clienterr.ModelNotAllowed: {http.StatusForbidden, "permission_error"},
	clienterr.Forbidden:       {http.StatusForbidden, "permission_error"},
	clienterr.NotFound:        {http.StatusNotFound, "invalid_request_error"},
	clienterr.ModelNotFound:   {http.StatusNotFound, "invalid_request_error"},
	clienterr.Conflict:        {http.StatusConflict, "invalid_request_error"},
	clienterr.BodyTooLarge:    {http.StatusRequestEntityTooLarge, "invalid_request_error"},
	clienterr.RateLimited:     {http.StatusTooManyRequests, "rate_limit_error"},
	clienterr.QuotaExceeded:   {http.StatusTooManyRequests, "insufficient_quota"},
	clienterr.Internal:        {http.StatusInternalServerError, "server_error"},
	clienterr.UpstreamError:   {http.StatusBadGateway, "upstream_error"},
	clienterr.Unavailable:     {http.StatusServiceUnavailable, "server_error"},
	clienterr.Overloaded:      {http.StatusServiceUnavailable, "server_error"},
	clienterr.AnswerTooLarge:  {http.StatusBadGateway, "upstream_error"},
	clienterr.UpstreamTimeout: {http.StatusGatewayTimeout, "timeout_error"},
}

// Status is the HTTP status of code (500 for an unknown code).
func Status(code clienterr.Code) int {
	if info, ok := codes[code]; ok {
		return info.status
	}
	return http.StatusInternalServerError
}

// errorType is the OpenAI error "type" of code.
func errorType(code clienterr.Code) string {
	if info, ok := codes[code]; ok {
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

// Body returns err in OpenAI's shape; see clienterr.As for what of it a
// client sees.
func Body(err error) ErrorBody {
	e := clienterr.As(err)
	d := ErrorDetail{Message: e.Message, Type: errorType(e.Code), Code: string(e.Code)}
	if e.Param != "" {
		p := e.Param
		d.Param = &p
	}
	return ErrorBody{Error: d}
}

// WriteError writes err as an OpenAI-shaped JSON error response.
func WriteError(w http.ResponseWriter, err error) {
	e := clienterr.As(err)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if e.RetryAfter > 0 {
		secs := int((e.RetryAfter + time.Second - 1) / time.Second)
		h.Set("Retry-After", strconv.Itoa(secs))
	}
	w.WriteHeader(Status(e.Code))
	_ = json.NewEncoder(w).Encode(Body(e))
}
