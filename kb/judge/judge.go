// Package judge asks a judge model which sentences of a grounded answer
// the retrieved passages do not support. The model (any instruction model,
// or an NLI model wrapped to answer in the same format) is served behind
// an OpenAI-compatible /v1/chat/completions endpoint. It is asked once
// with the numbered passages and the numbered sentences, and answers one
// line: "UNSUPPORTED: 2, 5" or "UNSUPPORTED: none".
//
// A call that fails (timeout, HTTP error, an answer not in that format)
// returns an error; the caller keeps the lexical check's result.
package judge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/firebreak/firebreak/internal/redact"
	"github.com/firebreak/firebreak/kb/support"
)

// ErrAnswer is returned when the judge's answer is not in the format.
var ErrAnswer = errors.New("judge: answer not in the expected format")

// StatusError is a judge server's non-200 answer.
type StatusError struct{ StatusCode int }

func (e *StatusError) Error() string { return fmt.Sprintf("judge: server answered %d", e.StatusCode) }

// Options configures a Judge.
type Options struct {
	// BaseURL is the API root including /v1. Required.
	BaseURL string
	// Model is the model name on the server. Required.
	Model string
	// APIKey is sent as a bearer token. Default: none.
	APIKey string
	// Timeout bounds one call, on top of the caller's context. Default 10s.
	Timeout time.Duration
	// HTTPClient sends the requests. Default: a plain client.
	HTTPClient *http.Client
}

// Judge is a judge model's client. It is safe for concurrent use.
type Judge struct {
	url, model, apiKey string
	timeout            time.Duration
	client             *http.Client
}

// New checks the options and returns a Judge.
func New(o Options) (*Judge, error) {
	if o.BaseURL == "" || o.Model == "" {
		return nil, errors.New("judge: base_url and model are required")
	}
	if o.Timeout < 0 {
		return nil, errors.New("judge: timeout must not be negative")
	}
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{}
	}
	return &Judge{url: strings.TrimRight(o.BaseURL, "/") + "/chat/completions", model: o.Model, apiKey: o.APIKey,
		timeout: o.Timeout, client: o.HTTPClient}, nil
}

// Instructions is the judge's system message.
const Instructions = `You check a grounded answer against its sources. Below are numbered passages and the numbered sentences of an answer. A sentence is UNSUPPORTED when the passages do not state it, or state something different or the opposite (a changed number, a negation, a swapped subject). Reply with exactly one line and nothing else:
UNSUPPORTED: <the numbers of the unsupported sentences, separated by commas>
or, when every sentence is supported:
UNSUPPORTED: none`

// Message builds the user message: the passages, then the sentences
// numbered from 1.
func Message(sources []support.Source, sentences []string) string {
	var b strings.Builder
	b.WriteString("PASSAGES\n")
	for i, s := range sources {
		fmt.Fprintf(&b, "[%d] %s\n%s\n\n", i+1, s.Title, strings.TrimSpace(s.Text))
	}
	if len(sources) == 0 {
		b.WriteString("(none)\n\n")
	}
	b.WriteString("SENTENCES\n")
	for i, s := range sentences {
		fmt.Fprintf(&b, "%d. %s\n", i+1, strings.Join(strings.Fields(s), " "))
	}
	return b.String()
}

// Parse reads the judge's answer for n sentences and returns the 0-based
// indices of the unsupported ones. Anything but one line in the format,
// with numbers 1 to n, is ErrAnswer.
func Parse(answer string, n int) ([]int, error) {
	line := strings.TrimSpace(answer)
	if strings.ContainsAny(line, "\r\n") {
		return nil, fmt.Errorf("%w: more than one line", ErrAnswer)
	}
	head, rest, ok := strings.Cut(line, ":")
	if !ok || !strings.EqualFold(strings.TrimSpace(head), "UNSUPPORTED") {
		return nil, fmt.Errorf("%w: no UNSUPPORTED: line", ErrAnswer)
	}
	rest = strings.TrimSpace(rest)
	if strings.EqualFold(rest, "none") {
		return nil, nil
	}
	var out []int
	seen := map[int]bool{}
	for _, f := range strings.Split(rest, ",") {
		k, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || k < 1 || k > n {
			return nil, fmt.Errorf("%w: not a sentence number", ErrAnswer)
		}
		if !seen[k] {
			seen[k] = true
			out = append(out, k-1)
		}
	}
	return out, nil
}

// maxAnswer bounds the bytes read of the judge's response.
const maxAnswer = 1 << 20

type message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type chatRequest struct {
	Model       string    `json:"model"`
	Messages    []message `json:"messages"`
	MaxTokens   int       `json:"max_tokens"`
	Temperature float64   `json:"temperature"`
}

type chatResponse struct {
	Choices []struct {
		Message message `json:"message"`
	} `json:"choices"`
}

// Unsupported asks the judge which of sentences the sources do not
// support, and returns their 0-based indices. With no sentences it asks
// nothing.
func (j *Judge) Unsupported(ctx context.Context, sources []support.Source, sentences []string) ([]int, error) {
	if len(sentences) == 0 {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, j.timeout)
	defer cancel()
	body, err := json.Marshal(chatRequest{Model: j.model, MaxTokens: 64, Messages: []message{
		{Role: "system", Content: Instructions}, {Role: "user", Content: Message(sources, sentences)}}})
	if err != nil {
		return nil, fmt.Errorf("judge: encode request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, j.url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("judge: new request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if j.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+j.apiKey)
	}
	resp, err := j.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("judge: call: %w", redact.URLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
		return nil, &StatusError{StatusCode: resp.StatusCode}
	}
	var cr chatResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAnswer)).Decode(&cr); err != nil {
		return nil, fmt.Errorf("judge: decode answer: %w", err)
	}
	if len(cr.Choices) == 0 {
		return nil, fmt.Errorf("%w: no choices", ErrAnswer)
	}
	return Parse(cr.Choices[0].Message.Content, len(sentences))
}
