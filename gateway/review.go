package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/label"
	"github.com/firebreak/firebreak/openai"
	"github.com/firebreak/firebreak/safety"
	"github.com/firebreak/firebreak/sanction"
)

// SanctionHeader tells a client about a sanction imposed by this request:
// "warn", "restrict; until=…", "suspend; until=…" or "terminate".
const SanctionHeader = "X-Firebreak-Sanction"

// inputReview is the outcome of reviewing a request's input: one merged
// decision, the part of it decided by texts that bear strikes (the end
// user's own), and the request to send upstream, masked where a hit asked.
type inputReview struct {
	decision safety.Decision
	strikes  safety.Decision
	request  *openai.ChatRequest
}

// piece is one text of a request as review read it, before any mask,
// with the mask hits its own review found.
type piece struct {
	t       *openai.Text
	text    string
	strikes bool
	masks   []safety.Hit
}

// checkScope refuses, before anything else runs, a message whose role the
// policy does not accept (by default, the roles of the OpenAI API) and
// media review cannot read unless the policy allows them.
func checkScope(scope safety.Scope, req *openai.ChatRequest) error {
	for i, m := range req.Messages {
		if _, ok := scope.Role(m.Role); !ok {
			at := "messages[" + strconv.Itoa(i) + "].role"
			return &clienterr.Error{Code: clienterr.InvalidRequest, Param: at,
				Message: at + ": role " + strconv.Quote(m.Role) + " is not accepted (accepted: " + strings.Join(scope.RoleNames(), ", ") + ")"}
		}
	}
	if len(req.Media) > 0 && !scope.AllowMedia {
		at := req.Media[0]
		what := "images, audio, video and files are"
		if at == "modalities" {
			what = "answers in other modalities than text are"
		}
		return &clienterr.Error{Code: clienterr.InvalidRequest, Param: at,
			Message: at + ": " + what + " not accepted: this service reviews text only"}
	}
	return nil
}

// reviewInput checks every text of the request a model reads: tool
// definitions, the other fields a server may render, and every message of
// every role, each under its role's policy (directions, overlays,
// strikes). Each text is checked on its own, so a mask applies in place;
// then the latest messages are read as one text, as the model reads them,
// so that a phrase split over content parts or turns is found too.
func (g *Gateway) reviewInput(e *safety.Engine, req *openai.ChatRequest, c *call) inputReview {
	out := inputReview{request: req, decision: allowed(e), strikes: allowed(e)}
	scope := e.Scope()
	var base *safety.Engine
	engineFor := func(rs safety.RoleScope) *safety.Engine {
		if !rs.BaseOnly {
			return e
		}
		if base == nil {
			base = g.policies.Engine("", "", false)
		}
		return base
	}
	var read strings.Builder // what review read, for the record
	review := func(texts []*openai.Text, rs safety.RoleScope) []piece {
		pieces := make([]piece, len(texts))
		for i, t := range texts {
			text := t.Value()
			pieces[i] = piece{t: t, text: text, strikes: rs.Strikes}
			if read.Len() > 0 {
				read.WriteByte('\n')
			}
			read.WriteString(text)
			d := checkText(engineFor(rs), rs.Directions, text)
			merge(&out.decision, d)
			if rs.Strikes {
				merge(&out.strikes, d)
			}
			if d.Masked != "" {
				t.Set(d.Masked)
				pieces[i].masks = maskHits(nil, d.Hits)
			}
		}
		return pieces
	}
	review(req.Tools, scope.Tools)
	review(req.Fields, scope.Fields)
	first := 0
	if scope.Context > 0 {
		first = max(0, len(req.Messages)-scope.Context)
	}
	var convo []piece
	for i, m := range req.Messages {
		rs, ok := scope.Role(m.Role)
		if !ok { // the policy changed since checkScope: the strictest reading
			rs = safety.RoleScope{Directions: []safety.Direction{safety.Input, safety.Output}, Strikes: true}
		}
		if p := review(m.Texts, rs); i >= first && scope.Context > 0 {
			convo = append(convo, p...)
		}
		review(m.Apart, rs) // each on its own, outside the running text
	}
	reviewJoined(e, convo, &out)
	c.input, c.code, c.policy = out.decision.Action.String(), out.decision.Code, out.decision.Version
	c.inDecision, c.prompt = out.decision, read.String()
	c.promptLen, c.promptSum = read.Len(), digest(c.prompt)
	g.metrics.decision("input", out.decision)
	return out
}

func allowed(e *safety.Engine) safety.Decision {
	return safety.Decision{Action: safety.Allow, Version: e.Version()}
}

// checkText checks text in each direction; the most severe decision
// wins. Masked is set when a mask changed the text: each direction's
// masks apply in turn (only then, so that an earlier mask cannot hide a
// stricter hit of a later direction).
func checkText(e *safety.Engine, dirs []safety.Direction, text string) safety.Decision {
	d := allowed(e)
	masked := false
	for _, dir := range dirs {
		di := e.CheckRead(dir, text)
		merge(&d, di)
		masked = masked || di.Masked != ""
	}
	if !masked || d.Action >= safety.Refuse {
		return d
	}
	cur := text
	for _, dir := range dirs {
		if di := e.CheckRead(dir, cur); di.Masked != "" {
			cur = di.Masked
		}
	}
	if cur != text {
		d.Masked = cur
	}
	return d
}

// reviewJoined reads pieces as one text, joined by line breaks as a model
// server joins parts and turns, and keeps the hits that span more than one
// piece (those within one were decided with it). A mask across pieces
// masks its part of each piece.
func reviewJoined(e *safety.Engine, pieces []piece, out *inputReview) {
	if len(pieces) < 2 {
		return
	}
	starts := make([]int, len(pieces))
	var b strings.Builder
	for i, p := range pieces {
		if i > 0 {
			b.WriteByte('\n')
		}
		starts[i] = b.Len()
		b.WriteString(p.text)
	}
	joined := b.String()
	at := func(off int) int { return sort.SearchInts(starts, off+1) - 1 }
	var across, strikes []safety.Hit
	masked := map[int]bool{}
	for _, h := range e.CheckRead(safety.Input, joined).Hits {
		from, to := at(h.Start), at(h.End-1)
		if h.Action < safety.Mask || from == to {
			continue
		}
		across = append(across, h)
		for k := from; k <= to && h.Action == safety.Mask; k++ {
			p := &pieces[k]
			part := h
			part.Start, part.End = max(h.Start-starts[k], 0), min(h.End-starts[k], len(p.text))
			p.masks, masked[k] = append(p.masks, part), true
		}
		for k := from; k <= to; k++ {
			if pieces[k].strikes {
				strikes = append(strikes, h)
				break
			}
		}
	}
	for k := range masked {
		if m := e.Decide(safety.Input, pieces[k].text, pieces[k].masks).Masked; m != "" {
			pieces[k].t.Set(m)
		}
	}
	if len(across) > 0 {
		merge(&out.decision, e.Decide(safety.Input, joined, across))
	}
	if len(strikes) > 0 {
		merge(&out.strikes, e.Decide(safety.Input, joined, strikes))
	}
}

// maskHits appends the mask hits of hits to dst.
func maskHits(dst, hits []safety.Hit) []safety.Hit {
	for _, h := range hits {
		if h.Action == safety.Mask {
			dst = append(dst, h)
		}
	}
	return dst
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
		w.Header().Set(SanctionHeader, warning.Header())
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
		w.Header().Set(http.TrailerPrefix+label.HeaderName, c.label.sealedJSON)
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
