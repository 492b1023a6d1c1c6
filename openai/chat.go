package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// ChatRequest is what the gateway reads from a chat completion request.
// The body is kept as received: every other field reaches the upstream
// untouched, in its place, and the gateway's changes (the model name,
// masked text) are patched into it.
type ChatRequest struct {
	Model         string
	Messages      []Message
	Stream        bool
	StreamOptions *StreamOptions
	User          string
	N             *int

	body []byte
}

// chatWire is the part of a request body that ParseChatRequest decodes.
type chatWire struct {
	Model         string         `json:"model"`
	Messages      *[]Message     `json:"messages"`
	Stream        bool           `json:"stream"`
	StreamOptions *StreamOptions `json:"stream_options"`
	User          string         `json:"user"`
	N             *int           `json:"n"`
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
	var w chatWire
	if err := decodeObject(body, &w); err != nil {
		return nil, err
	}
	if w.Messages == nil {
		return nil, &Error{Code: CodeInvalidRequest, Param: "messages", Message: "missing required parameter: 'messages'"}
	}
	req := &ChatRequest{Model: w.Model, Messages: *w.Messages, Stream: w.Stream, StreamOptions: w.StreamOptions,
		User: w.User, N: w.N, body: body}
	if err := req.validate(); err != nil {
		return nil, err
	}
	return req, nil
}

func (r *ChatRequest) validate() error {
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

// JSONMode reports whether the request asks for JSON output
// (response_format json_object or json_schema): the client parses the
// answer's content.
func (r *ChatRequest) JSONMode() bool {
	switch gjson.GetBytes(r.body, "response_format.type").String() {
	case "json_object", "json_schema":
		return true
	}
	return false
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

// Encode returns the request body for an upstream: the client's body as
// received, with model replaced and, for streams, usage requested so the
// gateway can count tokens.
func (r *ChatRequest) Encode(model string) ([]byte, error) {
	out, err := withModel(r.body, model)
	if err != nil || !r.Stream {
		return out, err
	}
	if so := gjson.GetBytes(out, "stream_options"); so.Exists() && !so.IsObject() {
		if out, err = sjson.DeleteBytes(out, "stream_options"); err != nil {
			return nil, err
		}
	}
	return sjson.SetRawBytes(out, "stream_options.include_usage", []byte("true"))
}

// withModel returns body with its "model" set; body is not changed.
func withModel(body []byte, model string) ([]byte, error) {
	out, err := sjson.SetBytes(append([]byte(nil), body...), "model", model)
	if err != nil {
		return nil, fmt.Errorf("set model: %w", err)
	}
	return out, nil
}

// decodeObject checks that body is one valid UTF-8 JSON object and decodes
// it into v. Failures are *Error values that name what is wrong.
func decodeObject(body []byte, v any) error {
	trimmed := bytes.TrimSpace(body)
	switch {
	case len(trimmed) == 0:
		return Errorf(CodeInvalidJSON, "request body is empty: send a JSON object")
	case !utf8.Valid(body):
		return Errorf(CodeInvalidJSON, "request body is not valid UTF-8")
	case bytes.Equal(trimmed, []byte("null")):
		return Errorf(CodeInvalidJSON, "request body must be a JSON object, not null")
	}
	err := json.Unmarshal(body, v)
	var typ *json.UnmarshalTypeError
	switch {
	case err == nil:
		if trimmed[0] != '{' {
			return Errorf(CodeInvalidJSON, "request body is not a valid JSON object: expected an object at the top level")
		}
		return nil
	case errors.As(err, &typ) && typ.Field != "":
		name, _, nested := strings.Cut(typ.Field, ".")
		problem := "got " + typ.Value
		if nested {
			problem = "field '" + typ.Field + "' got " + typ.Value
		}
		return &Error{Code: CodeInvalidRequest, Param: name, Err: err, Message: "invalid type for '" + name + "': " + problem}
	default:
		return Wrap(CodeInvalidJSON, err, "request body is not a valid JSON object: "+jsonProblem(err))
	}
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
