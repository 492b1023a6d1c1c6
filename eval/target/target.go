// Package target is the evaluator's client of an OpenAI-compatible chat
// endpoint: a model server directly, or the whole service through the
// Firebreak gateway with an API key. It sends one non-streamed chat
// completion and returns the answer text, the finish reason and, when the
// gateway answered, its "firebreak" review report, so a run can tell what
// the gateway refused apart from what the model refused.
//
// It keeps its own small wire types instead of importing the openai
// package: it is a client that must read any server's answer leniently
// (the gateway's parser is deliberately strict about what it forwards),
// and it needs the gateway's report, which no server-side type models.
package target

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/firebreak/firebreak/eval/bank"
)

// Params are the sampling parameters sent with every request; they are
// part of the cache key and the manifest.
type Params struct {
	Temperature *float64 `json:"temperature,omitempty"`
	TopP        *float64 `json:"top_p,omitempty"`
	MaxTokens   int      `json:"max_tokens,omitempty"`
	Seed        *int64   `json:"seed,omitempty"`
}

// Options configures a Client.
type Options struct {
	// BaseURL is the API root including /v1. Required.
	BaseURL string
	// APIKey is sent as a bearer token. Default: none.
	APIKey string
	// Model is the model name to ask. Required.
	Model  string
	Params Params
	// Timeout bounds one attempt. Default 120s.
	Timeout time.Duration
	// HTTPClient sends the requests. Default: a client of its own.
	HTTPClient *http.Client
}

// Client sends chat completions to one target. Safe for concurrent use.
type Client struct {
	opts Options
	http *http.Client
	id   string
}

// New validates o and returns a Client.
func New(o Options) (*Client, error) {
	if o.BaseURL == "" || o.Model == "" {
		return nil, errors.New("target: base URL and model are required")
	}
	if !strings.HasPrefix(o.BaseURL, "http://") && !strings.HasPrefix(o.BaseURL, "https://") {
		return nil, fmt.Errorf("target: base URL %q: want http:// or https://", o.BaseURL)
	}
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	if o.Timeout == 0 {
		o.Timeout = 120 * time.Second
	}
	c := &Client{opts: o, http: o.HTTPClient}
	if c.http == nil {
		c.http = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, IdleConnTimeout: 90 * time.Second}}
	}
	c.id = identity(o)
	return c, nil
}

// identity names the target for cache keys: the URL, the model, the
// parameters and a hash of the key (different keys may mean different
// tenants and policies; the key itself is never written down).
func identity(o Options) string {
	p, _ := json.Marshal(o.Params)
	k := sha256.Sum256([]byte(o.APIKey))
	return o.BaseURL + "\x00" + o.Model + "\x00" + string(p) + "\x00" + hex.EncodeToString(k[:8])
}

// Identity is the string that identifies the target in cache keys.
func (c *Client) Identity() string { return c.id }

// Describe returns what a manifest records of the target: never the key.
func (c *Client) Describe() map[string]any {
	return map[string]any{"base_url": c.opts.BaseURL, "model": c.opts.Model, "params": c.opts.Params,
		"api_key": c.opts.APIKey != ""}
}

// Response is a target's answer.
type Response struct {
	Text         string     `json:"text"`
	FinishReason string     `json:"finish_reason,omitempty"`
	Model        string     `json:"model,omitempty"`
	Firebreak    *Firebreak `json:"firebreak,omitempty"`
}

// Firebreak is the gateway's review report carried in a response.
type Firebreak struct {
	Input  *Review `json:"input,omitempty"`
	Output *Review `json:"output,omitempty"`
}

// Review is one direction's review in the report.
type Review struct {
	Decision string `json:"decision"`
	Code     string `json:"code,omitempty"`
	Policy   string `json:"policy_version,omitempty"`
}

// Refused returns where the gateway refused the exchange: "input",
// "output", or "" when it did not.
func (r *Response) Refused() string {
	if r.Firebreak == nil {
		return ""
	}
	refuses := func(v *Review) bool { return v != nil && (v.Decision == "refuse" || v.Decision == "block") }
	switch {
	case refuses(r.Firebreak.Input):
		return "input"
	case refuses(r.Firebreak.Output):
		return "output"
	}
	return ""
}

// StatusError is a non-200 answer.
type StatusError struct {
	Status     int
	Code       string        // error.code of an OpenAI error body, when there is one
	RetryAfter time.Duration // from Retry-After, when sent
}

func (e *StatusError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("status %d (%s)", e.Status, e.Code)
	}
	return fmt.Sprintf("status %d", e.Status)
}

// Retryable reports whether an error may go away on a later attempt:
// 429, 5xx, timeouts and failed connections.
func Retryable(err error) bool {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status == http.StatusTooManyRequests || se.Status >= 500
	}
	return err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, errBadAnswer)
}

var errBadAnswer = errors.New("answer is not a chat completion")

type chatRequest struct {
	Model    string         `json:"model"`
	Messages []bank.Message `json:"messages"`
	User     string         `json:"user,omitempty"`
	Params
}

type chatResponse struct {
	Model   string `json:"model"`
	Choices []struct {
		Message struct {
			Content *string `json:"content"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Firebreak *Firebreak `json:"firebreak"`
}

// Chat sends one chat completion. user, when set, is the OpenAI "user"
// field (the gateway's end user).
func (c *Client) Chat(ctx context.Context, msgs []bank.Message, user string) (*Response, error) {
	body, err := json.Marshal(chatRequest{Model: c.opts.Model, Messages: msgs, User: user, Params: c.opts.Params})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.opts.BaseURL+"/chat/completions", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.opts.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.opts.APIKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, statusError(resp, b)
	}
	return parseResponse(b)
}

// parseResponse reads a chat completion body: the first choice's text and
// finish reason, and the gateway's report when there is one.
func parseResponse(b []byte) (*Response, error) {
	var cr chatResponse
	if err := json.Unmarshal(b, &cr); err != nil || len(cr.Choices) == 0 {
		return nil, fmt.Errorf("%w (%d bytes)", errBadAnswer, len(b))
	}
	out := &Response{FinishReason: cr.Choices[0].FinishReason, Model: cr.Model, Firebreak: cr.Firebreak}
	if p := cr.Choices[0].Message.Content; p != nil {
		out.Text = *p
	}
	return out, nil
}

func statusError(resp *http.Response, body []byte) *StatusError {
	se := &StatusError{Status: resp.StatusCode}
	var e struct {
		Error struct {
			Code any `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error.Code != nil {
		se.Code = fmt.Sprint(e.Error.Code)
	}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		if s, err := strconv.Atoi(ra); err == nil && s >= 0 {
			se.RetryAfter = time.Duration(s) * time.Second
		}
	}
	return se
}
