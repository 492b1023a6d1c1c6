package guard

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/firebreak/firebreak/internal/redact"
	"io"
	"math"
	"net/http"
	"strings"

	"github.com/firebreak/firebreak/safety"
)

// maxAnswer bounds how much of the endpoint's answer is read.
const maxAnswer = 1 << 20

// Classify asks the guard model about msgs. For dir Input the model judges
// the last user turn; for Output, the last assistant turn, which msgs must
// end with. System and tool messages are left out (the guard models'
// templates accept user and assistant turns only) and consecutive turns of
// one role are joined.
//
// On any error (ctx cancelled or timed out, HTTP failure, an answer in
// the wrong format) Classify returns the error together with the fail-safe
// verdict: Failed is set and Hits holds a Refuse hit for every category
// that fails closed.
func (g *Guard) Classify(ctx context.Context, dir safety.Direction, msgs []Message) (Verdict, error) {
	conv, err := conversation(dir, msgs)
	if err != nil {
		return g.failed(0), err
	}
	span := len(conv[len(conv)-1].Content)
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	answer, score, err := g.call(ctx, conv)
	if err != nil {
		return g.failed(span), err
	}
	v, err := g.parse(answer)
	if err != nil {
		return g.failed(span), err
	}
	g.hits(&v, span, score)
	return v, nil
}

// failed is the verdict used when the model could not be asked.
func (g *Guard) failed(span int) Verdict {
	v := Verdict{Failed: FailOpen}
	for _, c := range g.cats {
		if c.OnError == FailClosed {
			v.Failed = FailClosed
			v.Hits = append(v.Hits, g.hit(c, c.Name, safety.Refuse, span, 0))
		}
	}
	return v
}

// hits turns the categories of an unsafe or controversial verdict into hits.
func (g *Guard) hits(v *Verdict, span int, score float64) {
	if v.Label == "safe" {
		return
	}
	names := v.Categories
	if len(names) == 0 {
		names = []string{Unknown}
	}
	seen := make(map[string]bool, len(names))
	for _, name := range names {
		if seen[name] {
			continue
		}
		seen[name] = true
		i, ok := g.byName[name]
		if !ok {
			i = g.byName[Unknown]
		}
		c := g.cats[i]
		a := c.Action
		if v.Label == "controversial" {
			a = min(a, g.controversial)
		}
		if a == safety.Allow || c.Code == "" {
			continue
		}
		v.Hits = append(v.Hits, g.hit(c, name, a, span, score))
	}
}

func (g *Guard) hit(c Category, rule string, a safety.Action, span int, score float64) safety.Hit {
	return safety.Hit{Detector: "guard", Rule: rule, Term: c.Title, Code: c.Code, Action: a, End: span, Score: score}
}

// conversation keeps the user and assistant turns that the guard judges.
func conversation(dir safety.Direction, msgs []Message) ([]Message, error) {
	var conv []Message
	for _, m := range msgs {
		if m.Role != "user" && m.Role != "assistant" {
			continue
		}
		if len(conv) == 0 && m.Role == "assistant" {
			continue // the templates start with a user turn
		}
		if n := len(conv); n > 0 && conv[n-1].Role == m.Role {
			conv[n-1].Content += "\n\n" + m.Content
			continue
		}
		conv = append(conv, m)
	}
	if dir == safety.Input {
		for len(conv) > 0 && conv[len(conv)-1].Role == "assistant" {
			conv = conv[:len(conv)-1]
		}
	} else if len(conv) > 0 && conv[len(conv)-1].Role != "assistant" {
		return nil, fmt.Errorf("%w: output check needs an assistant turn last", ErrConversation)
	}
	if len(conv) == 0 {
		return nil, ErrConversation
	}
	return conv, nil
}

type chatRequest struct {
	Model       string    `json:"model"`
	Messages    []Message `json:"messages"`
	Temperature float64   `json:"temperature"`
	MaxTokens   int       `json:"max_tokens"`
	Stream      bool      `json:"stream"`
	Logprobs    bool      `json:"logprobs,omitempty"`
}

type chatResponse struct {
	Choices []struct {
		Message struct {
			Content string `json:"content"`
		} `json:"message"`
		Logprobs *logprobs `json:"logprobs"`
	} `json:"choices"`
}

type logprobs struct {
	Content []tokenLogprob `json:"content"`
}

type tokenLogprob struct {
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
}

// call sends the conversation and returns the answer text and, when
// log-probabilities came back, the probability of "unsafe".
func (g *Guard) call(ctx context.Context, conv []Message) (string, float64, error) {
	body, err := json.Marshal(chatRequest{Model: g.model, Messages: conv, MaxTokens: g.maxTokens, Logprobs: g.logprobs})
	if err != nil {
		return "", 0, fmt.Errorf("guard: encode request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.url, bytes.NewReader(body))
	if err != nil {
		return "", 0, fmt.Errorf("guard: new request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if g.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+g.apiKey)
	}
	resp, err := g.client.Do(req)
	if err != nil {
		return "", 0, fmt.Errorf("guard: call: %w", redact.URLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
		return "", 0, &StatusError{StatusCode: resp.StatusCode}
	}
	var cr chatResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAnswer)).Decode(&cr); err != nil {
		return "", 0, fmt.Errorf("guard: decode answer: %w", err)
	}
	if len(cr.Choices) == 0 {
		return "", 0, fmt.Errorf("%w: no choices", ErrAnswer)
	}
	ch := cr.Choices[0]
	return ch.Message.Content, unsafeProbability(ch.Logprobs), nil
}

// unsafeProbability reads the first token's log-probability: Llama Guard's
// first token is "safe" or "unsafe".
func unsafeProbability(lp *logprobs) float64 {
	if lp == nil || len(lp.Content) == 0 {
		return 0
	}
	first := lp.Content[0]
	p := math.Exp(first.Logprob)
	switch strings.ToLower(strings.TrimSpace(first.Token)) {
	case "unsafe":
		return p
	case "safe":
		return 1 - p
	}
	return 0
}
