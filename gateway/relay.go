package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"

	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/label"
	"github.com/firebreak/firebreak/openai"
	"github.com/firebreak/firebreak/safety"
	"github.com/firebreak/firebreak/upstream"
)

var errTooLarge = errors.New("upstream answer larger than the gateway's limit")

// relay carries an upstream's answer to the client through output review.
type relay struct {
	g      *Gateway
	c      *call
	engine *safety.Engine
	req    *openai.ChatRequest
	input  safety.Decision
	cancel context.CancelFunc // stops the upstream call
	grant  *answerGrant       // the answer's share of the memory budget

	guard       *guardCheck // the guard model's review of the input, if any
	guardWaited bool
	ground      *grounded // the grounding of a grounded route, if any
}

// complete reviews a non-streamed answer choice by choice and writes it.
// It returns the tokens used.
func (rl *relay) complete(ctx context.Context, w http.ResponseWriter, body io.Reader) int64 {
	raw, err := readAllLimited(&budgetReader{r: body, g: rl.grant}, rl.g.maxAnswer)
	if rl.guardRefused(ctx, w) {
		return 0
	}
	if err != nil {
		rl.c.outcome = "upstream_error"
		openai.WriteError(w, upstreamReadError(err))
		return 0
	}
	resp, err := openai.ParseChatResponse(raw)
	if err != nil {
		rl.c.outcome = "upstream_error"
		openai.WriteError(w, clienterr.Wrap(clienterr.UpstreamError, err, "the model server sent an answer that is not a chat completion"))
		return 0
	}
	resp.SetModel(rl.c.model) // the public name, not the upstream's
	out := safety.Decision{Action: safety.Allow, Version: rl.engine.Version()}
	var patches []openai.Patch
	for _, ch := range resp.Choices {
		if p, ok := rl.reviewChoice(ch, &out); ok {
			patches = append(patches, p)
		}
	}
	if rl.ground != nil {
		patches = rl.ground.response(resp, patches, &out)
	}
	rl.finishOutput(w, out)
	lab := rl.c.label
	if lab != nil {
		patches = lab.placeResponse(resp, patches)
	}
	rl.c.answer.WriteString(deliveredText(resp, patches))
	if resp.Usage != nil {
		rl.c.usage = *resp.Usage
	}
	extra := map[string]any{}
	if rl.reportable(out) {
		extra["firebreak"] = rl.reports(out)
	}
	if rl.ground != nil {
		extra[GroundingField] = rl.ground.field()
	}
	if lab != nil {
		extra[label.FieldName] = lab.seal(rl.c.answer.String())
		lab.setHeaders(w)
	}
	send := resp.Bytes() // the upstream's bytes, but for the model's name, when review changed nothing
	if len(patches) > 0 || len(extra) > 0 {
		if send, err = resp.Encode(patches, extra); err != nil {
			openai.WriteError(w, clienterr.Wrap(clienterr.Internal, err, "could not encode the answer"))
			return usedTokens(resp.Usage, rl.c.promptLen, len(raw))
		}
	}
	rl.c.tokens = usedTokens(resp.Usage, rl.c.promptLen, len(raw))
	if err := rl.g.commit(context.Background(), rl.c, http.StatusOK); err != nil {
		openai.WriteError(w, err)
		return rl.c.tokens
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(send)
	return rl.c.tokens
}

// deliveredText is the text of a whole answer as the client receives it
// and its label's signature covers it: its choices' in index order, each
// bound as its own (label.ChoicesText).
func deliveredText(resp *openai.ChatResponse, patches []openai.Patch) string {
	if len(resp.Choices) == 1 {
		return deliveredContent(resp.Choices[0], patches)
	}
	chs := slices.Clone(resp.Choices)
	slices.SortStableFunc(chs, func(a, b openai.ResponseChoice) int { return a.Index - b.Index })
	texts := make([]string, len(chs))
	for i, ch := range chs {
		texts[i] = deliveredContent(ch, patches)
	}
	return label.ChoicesText(texts)
}

// deliveredContent is the text of a choice as the client receives it.
func deliveredContent(ch openai.ResponseChoice, patches []openai.Patch) string {
	for _, p := range patches {
		if p.Index == ch.Index && p.Content != nil {
			return *p.Content
		}
	}
	if ch.Message.Content == nil {
		return ""
	}
	return *ch.Message.Content
}

// reviewChoice reviews every text of a whole answer's choice (content,
// tool calls, reasoning …), merges the decision into out and says how the
// choice changes: masked where a hit asks, or, when any text is refused,
// only the safe reply with finish_reason "content_filter".
func (rl *relay) reviewChoice(ch openai.ResponseChoice, out *safety.Decision) (openai.Patch, bool) {
	p := openai.Patch{Index: ch.Index}
	d := safety.Decision{Action: safety.Allow, Version: rl.engine.Version()}
	// Every text of a whole answer is read as decoded too, asked for JSON
	// or not: an app may parse JSON that the prompt alone asked for, and
	// Markdown renders character references.
	if ch.Message.Content != nil {
		dc := rl.engine.CheckRead(safety.Output, *ch.Message.Content)
		merge(&d, dc)
		if dc.Action == safety.Mask || dc.Action == safety.Review && dc.Masked != "" {
			masked := dc.Masked // a copy: a pointer into dc would move dc to the heap on every answer
			p.Content = &masked
		}
	}
	for _, t := range ch.Message.Texts {
		dt := rl.engine.CheckRead(safety.Output, t.Value)
		merge(&d, dt)
		if dt.Masked != "" {
			p.Texts = append(p.Texts, openai.TextPatch{Text: t, Value: dt.Masked})
		}
	}
	merge(out, d)
	if d.Action >= safety.Refuse {
		filtered, reply := "content_filter", d.Reply // copies, so that d stays on the stack
		return openai.Patch{Index: ch.Index, Content: &reply, FinishReason: &filtered, DropTexts: true}, true
	}
	return p, !p.Empty()
}

// reportable says whether a response carries a "firebreak" report: when
// either review found anything.
func (rl *relay) reportable(out safety.Decision) bool {
	return len(out.Hits) > 0 || len(rl.input.Hits) > 0
}

func (rl *relay) reports(out safety.Decision) map[string]any {
	m := map[string]any{"output": newReport(safety.Output, out)}
	if len(rl.input.Hits) > 0 {
		m["input"] = newReport(safety.Input, rl.input)
	}
	return m
}

// finishOutput records the output decision on the call and in metrics.
func (rl *relay) finishOutput(w http.ResponseWriter, out safety.Decision) {
	rl.c.output, rl.c.outDecision = out.Action.String(), out
	if out.Action > rl.input.Action && out.Code != "" {
		rl.c.code = out.Code
	}
	if out.Action >= safety.Refuse {
		rl.c.outcome = "filtered"
	}
	if w != nil && out.Action > safety.Allow {
		w.Header().Set("X-Firebreak-Decision", out.Action.String())
	}
	rl.g.metrics.decision("output", out)
}

// upstreamReadError turns a failure to read an upstream's body into the
// error the client sees.
func upstreamReadError(err error) *clienterr.Error {
	var ce *clienterr.Error
	if errors.As(err, &ce) {
		return ce
	}
	if errors.Is(err, errTooLarge) {
		return clienterr.Wrap(clienterr.AnswerTooLarge, err, "the model's answer is larger than the gateway's limit")
	}
	if errors.Is(err, upstream.ErrIdleTimeout) {
		return clienterr.Wrap(clienterr.UpstreamTimeout, err, "the model server stopped sending data")
	}
	if errors.Is(err, context.Canceled) {
		return clienterr.Wrap(clienterr.UpstreamError, err, "the request was cancelled")
	}
	return clienterr.Wrap(clienterr.UpstreamError, err, "the model server's answer was cut off")
}

func writeJSON(w http.ResponseWriter, v any) {
	_ = json.NewEncoder(w).Encode(v)
}

// usedTokens is what an answer counts against its subjects' token rates
// and quotas: the usage the upstream reported, or, when it reported none,
// an estimate of one token per four bytes of what was sent and received
// (an upper bound for a complete answer, whose bytes include its JSON),
// as a stream without usage counts. Counting nothing would leave limits
// unenforced for every client of a model server that omits usage.
func usedTokens(u *openai.Usage, sent, received int) int64 {
	if n := u.Tokens(); n > 0 {
		return n
	}
	return int64(sent+received)/4 + 1
}
