package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/firebreak/firebreak/label"
	"github.com/firebreak/firebreak/openai"
	"github.com/firebreak/firebreak/safety"
	"github.com/firebreak/firebreak/sanction"
)

// inputReview is the outcome of reviewing a request's messages: one merged
// decision, and the request to send upstream (masked where a hit asked).
type inputReview struct {
	decision safety.Decision
	request  *openai.ChatRequest
}

// reviewInput checks every text piece of the messages in scope: the latest
// user message always, earlier user turns and system messages as
// configured. Pieces are checked one by one so a mask can be applied in
// place.
func (g *Gateway) reviewInput(e *safety.Engine, req *openai.ChatRequest, c *call) inputReview {
	out := inputReview{request: req, decision: safety.Decision{Action: safety.Allow, Version: e.Version()}}
	latestUser := -1
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if req.Messages[i].Role == openai.RoleUser {
			latestUser = i
			break
		}
	}
	var reviewed strings.Builder
	for i, m := range req.Messages {
		if !g.inScope(m.Role, i == latestUser) {
			continue
		}
		parts := m.TextParts()
		masked, changed := make([]string, len(parts)), false
		for j, text := range parts {
			if reviewed.Len() > 0 {
				reviewed.WriteByte('\n')
			}
			reviewed.WriteString(text)
			d := e.Check(safety.Input, text)
			merge(&out.decision, d)
			masked[j] = text
			if d.Action == safety.Mask {
				masked[j], changed = d.Masked, true
			}
		}
		if changed && out.decision.Action < safety.Refuse {
			if r, err := out.request.WithTexts(i, masked); err == nil {
				out.request = r
			}
		}
	}
	c.input, c.code, c.policy = out.decision.Action.String(), out.decision.Code, out.decision.Version
	c.inDecision, c.prompt = out.decision, reviewed.String()
	c.promptLen, c.promptSum = reviewed.Len(), digest(c.prompt)
	g.metrics.decision("input", out.decision)
	return out
}

func (g *Gateway) inScope(role string, latestUser bool) bool {
	switch role {
	case openai.RoleUser:
		return latestUser || g.review.History
	case openai.RoleSystem, openai.RoleDeveloper:
		return g.review.System
	}
	return false
}

// merge folds d into acc: the most severe action decides, hits add up.
func merge(acc *safety.Decision, d safety.Decision) {
	acc.Hits = append(acc.Hits, d.Hits...)
	if d.Action > acc.Action {
		acc.Action, acc.Code, acc.Reply = d.Action, d.Code, d.Reply
	}
}

// report is the machine-readable account of a review that responses carry
// in their "firebreak" field. It names risk codes and detectors, never the
// terms that matched, so it cannot be used to map the lexicon.
type report struct {
	Decision  string      `json:"decision"`
	Direction string      `json:"direction"`
	Code      string      `json:"code,omitempty"`
	Policy    string      `json:"policy_version"`
	Hits      []reportHit `json:"hits,omitempty"`
}

type reportHit struct {
	Detector string `json:"detector"`
	Code     string `json:"code"`
	Action   string `json:"action"`
}

func newReport(dir safety.Direction, d safety.Decision) report {
	r := report{Decision: d.Action.String(), Direction: dir.String(), Code: d.Code, Policy: d.Version}
	for _, h := range d.Hits {
		r.Hits = append(r.Hits, reportHit{Detector: h.Detector, Code: h.Code, Action: h.Action.String()})
	}
	return r
}

// writeRefusal answers a refused input with the safe reply, as an ordinary
// chat completion (or stream) whose finish_reason is "content_filter".
func (g *Gateway) writeRefusal(w http.ResponseWriter, c *call, req *openai.ChatRequest, d safety.Decision, warning *sanction.Outcome) {
	model := c.model
	id := "chatcmpl-fb-" + c.id
	created := time.Now().Unix()
	fb := map[string]any{"input": newReport(safety.Input, d)}
	w.Header().Set("X-Firebreak-Decision", d.Action.String())
	if warning != nil {
		// The user learns of the sanction in this very answer: a header, a
		// field, and a line under the safe reply.
		w.Header().Set(sanction.HeaderName, warning.Header())
		fb["sanction"] = sanctionReport(warning)
		d.Reply += "\n\n" + warning.Notice
	}
	var aigc json.RawMessage
	if c.label != nil {
		d.Reply = c.label.answer.Place(d.Reply, true, false)
		aigc = c.label.seal(d.Reply)
		c.label.setHeaders(w)
	}
	c.answer.WriteString(d.Reply)
	if err := g.commit(context.Background(), c, http.StatusOK); err != nil {
		openai.WriteError(w, err)
		return
	}
	if !req.Stream {
		w.Header().Set("Content-Type", "application/json")
		body := map[string]any{
			"id": id, "object": "chat.completion", "created": created, "model": model,
			"choices": []any{map[string]any{
				"index":         0,
				"message":       map[string]any{"role": "assistant", "content": d.Reply},
				"finish_reason": "content_filter",
			}},
			"usage":     openai.Usage{},
			"firebreak": fb,
		}
		if aigc != nil {
			body[label.FieldName] = aigc
		}
		writeJSON(w, body)
		return
	}
	ew := openai.NewEventWriter(w)
	chunk := func(delta map[string]any, finish any, extra map[string]any) map[string]any {
		m := map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	final := chunk(map[string]any{}, "content_filter", map[string]any{"firebreak": fb})
	chunks := []map[string]any{chunk(map[string]any{"role": "assistant", "content": d.Reply}, nil, nil), final}
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		chunks = append(chunks, map[string]any{"id": id, "object": "chat.completion.chunk", "created": created,
			"model": model, "choices": []any{}, "usage": openai.Usage{}})
	}
	if aigc != nil { // on the last chunk, and in the trailer
		chunks[len(chunks)-1][label.FieldName] = aigc
		w.Header().Set(http.TrailerPrefix+label.HeaderName, c.label.sealed.String())
	}
	for _, ch := range chunks {
		_ = ew.JSON(ch)
	}
	_ = ew.Done()
}

// sanctionReport is the "sanction" member of the firebreak report.
func sanctionReport(o *sanction.Outcome) map[string]any {
	m := map[string]any{"action": o.Sanction.Action.String(), "notice": o.Notice}
	if !o.Sanction.ExpiresAt.IsZero() {
		m["until"] = o.Sanction.ExpiresAt.UTC()
	}
	return m
}
