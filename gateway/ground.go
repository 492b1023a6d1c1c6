package gateway

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/kb"
	"github.com/firebreak/firebreak/kb/support"
	"github.com/firebreak/firebreak/openai"
	"github.com/firebreak/firebreak/safety"
)

// Grounding grounds the requests of grounded routes in their knowledge
// bases (kb.Service): Retrieve returns nil for a route that is not
// grounded.
type Grounding interface {
	Retrieve(ctx context.Context, route, tenant, query string) (*kb.Retrieval, error)
}

// SupportJudge is a judge model of the support check (kb/judge.Judge): it
// returns the indices of the sentences the sources do not support.
type SupportJudge interface {
	Unsupported(ctx context.Context, sources []support.Source, sentences []string) ([]int, error)
}

// GroundingField is the member of a grounded route's answers (the whole
// response, or the chunk that finishes a stream) that names the passages
// the answer was grounded in and the support check of each choice.
const GroundingField = "grounding"

// grounded is one request's grounding: what was retrieved, and the
// support check of each choice of the answer as it is delivered.
type grounded struct {
	r *kb.Retrieval
	// judge, when a judge model is configured, asks it about the claims
	// of a support check and flags those it finds unsupported.
	judge    func(*support.Support)
	support  map[int]*support.Support
	streams  map[int]*groundStream
	decision safety.Decision // merged decisions of flagged choices
	sent     strings.Builder // a stream's delivered text, for the record
}

// ground retrieves the passages of a grounded route for the conversation
// and puts them, with the instructions, first in the request. It returns
// nil for a route that is not grounded.
func (g *Gateway) ground(ctx context.Context, c *call, req *openai.ChatRequest) (*grounded, error) {
	if g.grounding == nil {
		return nil, nil
	}
	r, err := g.grounding.Retrieve(ctx, c.model, c.principal.Tenant.Name, groundingQuery(req))
	if err != nil {
		return nil, clienterr.Wrap(clienterr.Unavailable, err, "could not search the knowledge base; try again")
	}
	if r == nil {
		return nil, nil
	}
	req.PrependSystem(kb.Prompt(r.Passages))
	gr := &grounded{r: r, support: map[int]*support.Support{}, streams: map[int]*groundStream{},
		decision: safety.Decision{Action: safety.Allow}, judge: func(*support.Support) {}}
	if g.judge != nil {
		sources := make([]support.Source, len(r.Passages))
		for i, p := range r.Passages {
			sources[i] = support.Source{Title: p.Title, Text: p.Text}
		}
		gr.judge = func(sup *support.Support) {
			indices, texts := sup.ClaimTexts()
			if len(texts) == 0 {
				return
			}
			bad, err := g.judge.Unsupported(ctx, sources, texts)
			if err != nil {
				// The lexical check's result stands.
				g.metrics.judgeFailures.Inc()
				g.log.Warn("judge model failed; the lexical support check stands", "request_id", c.id, "err", err)
				return
			}
			for _, k := range bad {
				sup.MarkUnsupported(indices[k])
			}
		}
	}
	return gr, nil
}

// groundingQuery is what retrieval searches for: the latest two user
// turns, so that a follow-up question keeps its subject.
func groundingQuery(req *openai.ChatRequest) string {
	var turns []string
	for i := len(req.Messages) - 1; i >= 0 && len(turns) < 2; i-- {
		if req.Messages[i].Role == openai.RoleUser {
			turns = append(turns, req.Messages[i].Text())
		}
	}
	return strings.Join(turns, "\n")
}

// flag is the decision on a choice with unsupported sentences: review
// (the answer is delivered, annotated or with a caution, and queued for
// the review desk), or refuse, with A5a (A5b when nothing was found).
func (gr *grounded) flag(flagged []support.SentenceSupport) safety.Decision {
	act := safety.Review
	if gr.r.Grounding.Action == kb.Refuse {
		act = safety.Refuse
	}
	code := gr.r.Code()
	d := safety.Decision{Action: act, Code: code, Reply: kb.RefusalText}
	for _, f := range flagged {
		d.Hits = append(d.Hits, safety.Hit{Detector: "grounding", Rule: "unsupported", Code: code, Action: act,
			Start: f.Start, End: f.End, Score: f.Score})
	}
	merge(&gr.decision, d)
	return d
}

// response checks each choice of a whole answer, after review, and
// applies the route's action to those with unsupported sentences.
func (gr *grounded) response(resp *openai.ChatResponse, patches []openai.Patch, out *safety.Decision) []openai.Patch {
	for _, ch := range resp.Choices {
		if refused(patches, ch.Index) {
			continue
		}
		content := deliveredContent(ch, patches)
		sup := gr.r.Evidence.Check(content, gr.r.Grounding.MinSupport)
		gr.judge(&sup)
		gr.support[ch.Index] = &sup
		flagged := sup.Flagged()
		if len(flagged) == 0 {
			continue
		}
		merge(out, gr.flag(flagged))
		p := patchAt(&patches, ch.Index)
		switch gr.r.Grounding.Action {
		case kb.Refuse:
			reply, filtered := kb.RefusalText, "content_filter"
			p.Content, p.FinishReason, p.DropTexts = &reply, &filtered, true
		case kb.Caution:
			s := content + kb.CautionText
			p.Content = &s
		default:
			var b strings.Builder
			for _, s := range sup.Sentences {
				if s.Claim && !s.Supported {
					b.WriteString(kb.Mark(s.Text))
				} else {
					b.WriteString(s.Text)
				}
			}
			s := b.String()
			p.Content = &s
		}
	}
	return dropEmpty(patches)
}

func refused(patches []openai.Patch, index int) bool {
	for _, p := range patches {
		if p.Index == index && p.FinishReason != nil && *p.FinishReason == "content_filter" {
			return true
		}
	}
	return false
}

// groundStream is the support check of one streamed choice: the text
// review released is held back to the end of its sentence, checked, and
// released (marked, on an annotating route).
type groundStream struct {
	held    strings.Builder
	support support.Support
	offset  int  // bytes of the choice's text already checked
	done    bool // refused, or stopped by review
}

// take checks and returns the complete sentences held (all of them when
// the choice finishes: the last one may otherwise still grow), and the
// unsupported ones among them. The judge, when there is one, is asked
// once about the sentences taken together, before any is released.
func (gs *groundStream) take(r *kb.Retrieval, judge func(*support.Support), all bool) (string, []support.SentenceSupport) {
	held := gs.held.String()
	pieces := support.Sentences(held)
	n := len(pieces)
	if !all {
		n--
	}
	if n <= 0 {
		return "", nil
	}
	var batch support.Support
	used := 0
	for _, s := range pieces[:n] {
		sup := r.Evidence.Check(s, r.Grounding.MinSupport)
		for _, x := range sup.Sentences {
			x.Index = len(gs.support.Sentences) + len(batch.Sentences)
			x.Start, x.End = x.Start+gs.offset+used, x.End+gs.offset+used
			batch.Sentences = append(batch.Sentences, x)
		}
		batch.Claims += sup.Claims
		batch.Unsupported += sup.Unsupported
		used += len(s)
	}
	judge(&batch)
	var out strings.Builder
	var flagged []support.SentenceSupport
	for _, x := range batch.Sentences {
		text := x.Text
		if x.Claim && !x.Supported {
			flagged = append(flagged, x)
			if r.Grounding.Action == kb.Annotate {
				text = kb.Mark(text)
			}
		}
		out.WriteString(text)
	}
	gs.support.Sentences = append(gs.support.Sentences, batch.Sentences...)
	gs.support.Claims += batch.Claims
	gs.support.Unsupported += batch.Unsupported
	gs.offset += used
	gs.held.Reset()
	gs.held.WriteString(held[used:])
	return out.String(), flagged
}

// chunk checks what review released of one streamed chunk, on top of
// review's patches: it holds each choice's text to the end of its
// sentence, and a refusal stops the stream like a review stop.
func (gr *grounded) chunk(chunk *openai.ChatChunk, patches []openai.Patch, sr *streamReview) []openai.Patch {
	for _, ch := range chunk.Choices {
		gs := gr.streams[ch.Index]
		if gs == nil {
			gs = &groundStream{}
			gr.streams[ch.Index] = gs
			gr.support[ch.Index] = &gs.support
		}
		var text string
		var set bool // review set the content
		for _, p := range patches {
			if p.Index == ch.Index && p.Content != nil {
				text, set = *p.Content, true
			}
		}
		if !set && ch.Delta.Content != nil {
			text = *ch.Delta.Content
		}
		if gs.done || refused(patches, ch.Index) {
			gs.done = true
			gr.sent.WriteString(text)
			continue
		}
		gs.held.WriteString(text)
		finish := ch.FinishReason != nil
		release, flagged := gs.take(gr.r, gr.judge, finish)
		if len(flagged) > 0 {
			merge(&sr.out, gr.flag(flagged))
			if gr.r.Grounding.Action == kb.Refuse {
				reply, filtered := kb.RefusalText, "content_filter"
				p := patchAt(&patches, ch.Index)
				p.Content, p.FinishReason, p.DropTexts = &reply, &filtered, true
				gr.sent.WriteString(reply)
				sr.stopped, gs.done = true, true
				continue
			}
		}
		if finish && gr.r.Grounding.Action == kb.Caution && gs.support.Unsupported > 0 {
			release += kb.CautionText
		}
		gr.sent.WriteString(release)
		if release != text || set {
			p := patchAt(&patches, ch.Index)
			p.Content = &release
		}
	}
	return dropEmpty(patches)
}

// field is the grounding member of the answer.
func (gr *grounded) field() map[string]any {
	var all support.Support
	choices := []map[string]any{}
	for _, i := range slices.Sorted(maps.Keys(gr.support)) {
		s := gr.support[i]
		all.Sentences = append(all.Sentences, s.Sentences...)
		flagged := []map[string]any{}
		for _, f := range s.Flagged() {
			flagged = append(flagged, map[string]any{"sentence": f.Index, "text": f.Text, "score": f.Score, "numbers": f.Numbers, "judged": f.Judged})
		}
		choices = append(choices, map[string]any{"index": i, "claims": s.Claims, "unsupported": s.Unsupported, "flagged": flagged})
	}
	return map[string]any{
		"action":    string(gr.r.Grounding.Action),
		"citations": kb.Citations(gr.r.Passages, all),
		"support":   choices,
	}
}
