package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ChatRequest is what the gateway reads from a chat completion request. All
// other fields stay in Raw and reach the upstream untouched.
type ChatRequest struct {
	Model         string         `json:"model"`
	Messages      []Message      `json:"messages"`
	Stream        bool           `json:"stream"`
	StreamOptions *StreamOptions `json:"stream_options,omitempty"`
	User          string         `json:"user"`
	N             *int           `json:"n,omitempty"`

	// Raw is the request body's top-level object, field by field.
	Raw map[string]json.RawMessage `json:"-"`
}

// StreamOptions is the request's stream_options object.
type StreamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// Message is one chat message. Content is either a string or an array of
// content parts; Text returns its text either way.
type Message struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// ContentPart is one element of an array-valued message content.
type ContentPart struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// Text returns the message's text: the string content, or the text parts of
// an array content joined by newlines. Non-text parts are skipped.
func (m Message) Text() string { return strings.Join(m.TextParts(), "\n") }

// Roles the gateway knows. Others pass through.
const (
	RoleSystem    = "system"
	RoleDeveloper = "developer"
	RoleUser      = "user"
	RoleAssistant = "assistant"
	RoleTool      = "tool"
)

// ParseChatRequest decodes and validates a chat completion request body.
// Every failure is an *Error with a message that tells the client what to fix.
func ParseChatRequest(body []byte) (*ChatRequest, error) {
	raw, err := ParseObject(body)
	if err != nil {
		return nil, err
	}
	req := &ChatRequest{Raw: raw}
	err = DecodeFields(raw, map[string]any{
		"model": &req.Model, "messages": &req.Messages, "stream": &req.Stream,
		"stream_options": &req.StreamOptions, "user": &req.User, "n": &req.N,
	})
	if err != nil {
		return nil, err
	}
	if err := req.validate(); err != nil {
		return nil, err
	}
	return req, nil
}

func (r *ChatRequest) validate() error {
	if _, ok := r.Raw["messages"]; !ok {
		return &Error{Code: CodeInvalidRequest, Param: "messages", Message: "missing required parameter: 'messages'"}
	}
	if len(r.Messages) == 0 {
		return &Error{Code: CodeInvalidRequest, Param: "messages", Message: "'messages' must contain at least one message"}
	}
	for i, m := range r.Messages {
		if m.Role == "" {
			return Errorf(CodeInvalidRequest, "messages[%d]: missing required field 'role'", i)
		}
		if err := validateContent(m.Content); err != nil {
			return Errorf(CodeInvalidRequest, "messages[%d].content: %s", i, err.Error())
		}
	}
	if r.N != nil && (*r.N < 1 || *r.N > 128) {
		return &Error{Code: CodeInvalidRequest, Param: "n", Message: "'n' must be between 1 and 128"}
	}
	return nil
}

type contentError string

func (e contentError) Error() string { return string(e) }

func validateContent(c json.RawMessage) error {
	c = bytes.TrimSpace(c)
	if len(c) == 0 || string(c) == "null" || c[0] == '"' {
		return nil
	}
	if c[0] != '[' {
		return contentError("must be a string or an array of content parts")
	}
	var parts []ContentPart
	if err := json.Unmarshal(c, &parts); err != nil {
		return contentError("each content part must be an object with a 'type'")
	}
	for _, p := range parts {
		if p.Type == "" {
			return contentError("each content part must have a 'type'")
		}
	}
	return nil
}

// LatestUserText returns the text of the last message with role "user".
func (r *ChatRequest) LatestUserText() string {
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if r.Messages[i].Role == RoleUser {
			return r.Messages[i].Text()
		}
	}
	return ""
}

// Encode returns the request body for an upstream: the client's fields as
// received, with model replaced and, for streams, usage requested so the
// gateway can count tokens. Field order is not preserved; values are.
func (r *ChatRequest) Encode(model string) ([]byte, error) {
	if !r.Stream {
		return EncodeWithModel(r.Raw, model)
	}
	opts := map[string]json.RawMessage{}
	if so, ok := r.Raw["stream_options"]; ok && string(bytes.TrimSpace(so)) != "null" {
		if err := json.Unmarshal(so, &opts); err != nil {
			return nil, err
		}
	}
	opts["include_usage"] = json.RawMessage("true")
	b, err := json.Marshal(opts)
	if err != nil {
		return nil, err
	}
	return encodeWith(r.Raw, map[string]json.RawMessage{"stream_options": b}, model)
}

// EncodeWithModel re-encodes a request object with its "model" replaced.
func EncodeWithModel(raw map[string]json.RawMessage, model string) ([]byte, error) {
	return encodeWith(raw, nil, model)
}

func encodeWith(raw, set map[string]json.RawMessage, model string) ([]byte, error) {
	out := make(map[string]json.RawMessage, len(raw)+1)
	for k, v := range raw {
		out[k] = v
	}
	for k, v := range set {
		out[k] = v
	}
	m, err := json.Marshal(model)
	if err != nil {
		return nil, err
	}
	out["model"] = m
	return json.Marshal(out)
}

// ParseObject checks that body is one valid UTF-8 JSON object and splits it
// into its top-level fields. Failures are *Error values for the client.
func ParseObject(body []byte) (map[string]json.RawMessage, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, Errorf(CodeInvalidJSON, "request body is empty: send a JSON object")
	}
	if !utf8.Valid(body) {
		return nil, Errorf(CodeInvalidJSON, "request body is not valid UTF-8")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, Wrap(CodeInvalidJSON, err, "request body is not a valid JSON object: "+jsonProblem(err))
	}
	if raw == nil {
		return nil, Errorf(CodeInvalidJSON, "request body must be a JSON object, not null")
	}
	return raw, nil
}

// jsonProblem describes a JSON decoding error without echoing the body.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case strings.Contains(err.Error(), "exceeded max depth"):
		return "nesting is too deep"
	case errors.As(err, &syn):
		return "syntax error at byte " + strconv.FormatInt(syn.Offset, 10)
	case errors.As(err, &typ):
		return "expected an object at the top level, got " + typ.Value
	default:
		return "malformed JSON"
	}
}

// DecodeFields decodes the named top-level fields into the given pointers.
// Absent and null fields are left alone. A field of the wrong type is an
// *Error that names it. Fields are decoded in name order, so the first
// error is stable.
func DecodeFields(raw map[string]json.RawMessage, fields map[string]any) error {
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		if err := decodeField(raw, name, fields[name]); err != nil {
			return err
		}
	}
	return nil
}

func decodeField(raw map[string]json.RawMessage, name string, into any) error {
	v, ok := raw[name]
	if !ok || string(bytes.TrimSpace(v)) == "null" {
		return nil
	}
	if err := json.Unmarshal(v, into); err != nil {
		return &Error{Code: CodeInvalidRequest, Param: name, Err: err,
			Message: "invalid type for '" + name + "': " + typeProblem(err)}
	}
	return nil
}

func typeProblem(err error) string {
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		if typ.Field != "" {
			return "field '" + typ.Field + "' got " + typ.Value
		}
		return "got " + typ.Value
	}
	return "malformed value"
}
