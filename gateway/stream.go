package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/label"
	"github.com/firebreak/firebreak/openai"
	"github.com/firebreak/firebreak/safety"
)

// streamReview is the output review of one streamed answer: a stream
// moderator per choice for its content and one for each of its other
// texts (a tool call's name, reasoning …), carrying matcher state across
// chunks. What is meant for a program rather than a person — tool-call
// arguments, and the content of a JSON-mode answer — is held whole until
// its choice finishes, then reviewed as sent and as the program decodes
// it (escapes undone: safety.Engine.CheckRead), and released at once.
type streamReview struct {
	engine   *safety.Engine
	json     bool // the content is JSON for a program
	choices  map[int]*safety.ReadStream
	texts    map[int]*choiceTexts
	finished map[int]bool
	out      safety.Decision
	stopped  bool
	bytes    int             // content bytes seen, for a token estimate and the caps
	keepSent bool            // keep sent: no label stream keeps the delivered text
	sent     strings.Builder // content the client receives, for the record

	// The last chunk's patches and released contents, their memory reused
	// for the next: a chunk's patches are done with before the next is read.
	patches  []openai.Patch
	released []string
}

// choiceTexts are one choice's texts other than its (streamed) content:
// streams by AnswerText.Key, in the order they began, and what is held
// whole.
type choiceTexts struct {
	streams map[string]*textStream
	order   []string
	content strings.Builder // JSON-mode content, held whole
	whole   map[string]*openai.AnswerText
	worder  []string
}

type textStream struct {
	s    *safety.ReadStream
	text openai.AnswerText // where it was last seen, for releasing what is held back
}

func newStreamReview(e *safety.Engine, jsonContent, keepSent bool) *streamReview {
	return &streamReview{engine: e, json: jsonContent, keepSent: keepSent, choices: map[int]*safety.ReadStream{}, texts: map[int]*choiceTexts{},
		finished: map[int]bool{}, out: safety.Decision{Action: safety.Allow, Version: e.Version()}}
}

func (sr *streamReview) textsOf(index int) *choiceTexts {
	ct := sr.texts[index]
	if ct == nil {
		ct = &choiceTexts{streams: map[string]*textStream{}, whole: map[string]*openai.AnswerText{}}
		sr.texts[index] = ct
	}
	return ct
}

// chunk reviews one chunk and returns the patches that turn it into what
// the client may see. After a stop the answer must end at this chunk.
func (sr *streamReview) chunk(c *openai.ChatChunk) []openai.Patch {
	patches := sr.patches[:0]
	if cap(sr.released) < len(c.Choices) {
		sr.released = make([]string, len(c.Choices))
	}
	for i, ch := range c.Choices {
		s := sr.choices[ch.Index]
		if s == nil {
			s = sr.engine.NewReadStream(safety.Output)
			sr.choices[ch.Index] = s
		}
		var release string
		var res safety.StreamResult
		if ch.Delta.Content != nil {
			sr.bytes += len(*ch.Delta.Content)
			if sr.json {
				sr.textsOf(ch.Index).content.WriteString(*ch.Delta.Content)
			} else {
				res = s.Write(*ch.Delta.Content)
				release = res.Release
			}
		}
		tp, tres := sr.reviewTexts(ch, res.Stop)
		if !res.Stop && tres.Stop {
			res = tres
		}
		if !res.Stop && ch.FinishReason != nil {
			res = sr.closeContent(ch.Index, s)
			release += res.Release
			if !res.Stop {
				var held []openai.AnswerText
				held, tres = sr.closeTexts(ch.Index)
				tp.Append = held
				if tres.Stop {
					res = tres
				}
			}
			sr.finished[ch.Index] = true
		}
		merge(&sr.out, res.Decision)
		if res.Stop {
			sr.stopped = true
			filtered := "content_filter"
			reply := release + res.Decision.Reply
			sr.keep(reply)
			patches = append(patches, openai.Patch{Index: ch.Index, Content: &reply, FinishReason: &filtered, DropTexts: true})
			continue
		}
		sr.keep(release)
		p := tp
		p.Index = ch.Index
		if ch.Delta.Content != nil && release != *ch.Delta.Content || ch.Delta.Content == nil && release != "" {
			sr.released[i] = release
			p.Content = &sr.released[i]
		}
		if !p.Empty() {
			patches = append(patches, p)
		}
	}
	sr.patches = patches
	return patches
}

// keep adds released text to what the record keeps, unless the label
// stream keeps it (the delivered text is held once).
func (sr *streamReview) keep(text string) {
	if sr.keepSent {
		sr.sent.WriteString(text)
	}
}

// closeContent ends a choice's content: the stream's close, or for JSON
// content the review of all of it, released at once.
func (sr *streamReview) closeContent(index int, s *safety.ReadStream) safety.StreamResult {
	if !sr.json {
		return s.Close()
	}
	whole := sr.textsOf(index).content.String()
	d := sr.checkWhole(whole)
	if d.Action >= safety.Refuse {
		return safety.StreamResult{Stop: true, Decision: d}
	}
	if d.Masked != "" {
		whole = d.Masked
	}
	return safety.StreamResult{Release: whole, Decision: d}
}

func (sr *streamReview) checkWhole(text string) safety.Decision {
	return sr.engine.CheckRead(safety.Output, text)
}

// reviewTexts writes a choice's texts other than content to their
// streams (tool-call arguments: holds them whole) and returns the patches
// that hold back what may not go yet. After a stop (stopped, or a text
// that stops) nothing more is written.
func (sr *streamReview) reviewTexts(ch openai.ChunkChoice, stopped bool) (openai.Patch, safety.StreamResult) {
	var p openai.Patch
	if len(ch.Delta.Texts) == 0 || stopped {
		return p, safety.StreamResult{}
	}
	ct := sr.textsOf(ch.Index)
	for _, t := range ch.Delta.Texts {
		sr.bytes += len(t.Value)
		if t.ToolCall >= 0 && t.Field == "arguments" {
			if w := ct.whole[t.Key]; w != nil {
				w.Value += t.Value
			} else {
				held := t
				ct.whole[t.Key] = &held
				ct.worder = append(ct.worder, t.Key)
			}
			if t.Value != "" {
				p.Texts = append(p.Texts, openai.TextPatch{Text: t, Value: ""})
			}
			continue
		}
		ts := ct.streams[t.Key]
		if ts == nil {
			ts = &textStream{s: sr.engine.NewReadStream(safety.Output)}
			ct.streams[t.Key] = ts
			ct.order = append(ct.order, t.Key)
		}
		ts.text = t
		res := ts.s.Write(t.Value)
		if res.Stop {
			return p, res
		}
		if res.Release != t.Value {
			p.Texts = append(p.Texts, openai.TextPatch{Text: t, Value: res.Release})
		}
	}
	return p, safety.StreamResult{}
}

// closeTexts ends a finished choice's texts and returns what they held
// back, to be added to the finishing chunk.
func (sr *streamReview) closeTexts(index int) ([]openai.AnswerText, safety.StreamResult) {
	ct := sr.texts[index]
	if ct == nil {
		return nil, safety.StreamResult{}
	}
	var held []openai.AnswerText
	for _, k := range ct.order {
		ts := ct.streams[k]
		res := ts.s.Close()
		if res.Stop {
			return nil, res
		}
		merge(&sr.out, res.Decision)
		if res.Release != "" {
			t := ts.text
			t.Value = res.Release
			held = append(held, t)
		}
	}
	for _, k := range ct.worder {
		t := *ct.whole[k]
		d := sr.checkWhole(t.Value)
		if d.Action >= safety.Refuse {
			return nil, safety.StreamResult{Stop: true, Decision: d}
		}
		merge(&sr.out, d)
		if d.Masked != "" {
			t.Value = d.Masked
		}
		if t.Value != "" {
			held = append(held, t)
		}
	}
	return held, safety.StreamResult{}
}

func (sr *streamReview) allFinished() bool {
	if len(sr.choices) == 0 {
		return false
	}
	for i := range sr.choices {
		if !sr.finished[i] {
			return false
		}
	}
	return true
}

// stream relays an SSE answer through output review and returns the
// tokens used. A stream that the upstream does not finish properly ends
// with an error event, never with "[DONE]". The chunks that finish the
// answer are held until the request's record is committed.
func (rl *relay) stream(ctx context.Context, w http.ResponseWriter, body io.Reader) int64 {
	ew := openai.NewEventWriter(w)
	er := openai.NewEventReader(body, 0)
	defer er.Close()
	var chunks openai.ChunkParser // each chunk is done with before the next is read
	sr := newStreamReview(rl.engine, rl.req.JSONMode(), rl.c.label == nil && rl.ground == nil)
	if lab := rl.c.label; lab != nil {
		lab.setHeaders(w) // sent with the first chunk, before the label is signed
	}
	wantUsage := rl.req.StreamOptions != nil && rl.req.StreamOptions.IncludeUsage
	tokens := func() int64 {
		if rl.c.usage.Tokens() > 0 {
			return rl.c.usage.Tokens()
		}
		return int64(rl.c.promptLen+sr.bytes)/4 + 1 // estimate when the upstream reports none
	}
	var tail [][]byte // the finishing chunks, sent once the record is committed
	flushed := false  // the first chunk went out
	deadline := time.Now().Add(rl.g.maxStream)
	for {
		if err := rl.overLimits(deadline, sr.bytes); err != nil {
			rl.cancel()
			rl.failStream(ctx, ew, sr, err)
			return tokens()
		}
		ev, err := er.Next()
		if err != nil {
			if errors.Is(err, io.EOF) && sr.allFinished() {
				break // no "[DONE]", but every choice finished: a complete answer
			}
			rl.failStream(ctx, ew, sr, err)
			return tokens()
		}
		if ev.IsDone() {
			break
		}
		chunk, err := chunks.Parse(ev.Data)
		if err != nil || chunk.IsError() {
			if err == nil {
				err = errors.New("upstream sent an error event")
			}
			rl.failStream(ctx, ew, sr, clienterr.Wrap(clienterr.UpstreamError, err, "the model server reported an error mid-stream"))
			return tokens()
		}
		if chunk.Usage != nil {
			rl.c.usage = *chunk.Usage
			if len(chunk.Choices) == 0 && !wantUsage {
				continue // usage was asked for by the gateway, not the client
			}
		}
		chunk.SetModel(rl.c.model) // the public name, not the upstream's
		data, pre, finishing, err := rl.reviewChunk(chunk.Bytes(), chunk, sr)
		if err != nil {
			rl.failStream(ctx, ew, sr, clienterr.Wrap(clienterr.Internal, err, "could not encode a chunk"))
			return tokens()
		}
		if rl.guardRefused(ctx, w) {
			return 0
		}
		if finishing || len(tail) > 0 {
			tail = append(append(tail, pre...), bytes.Clone(data))
		} else if err := queueAll(ew, pre, data); err != nil {
			rl.c.outcome = "client_gone"
			return tokens()
		}
		// One write to the client for what the upstream sent together:
		// flush before Next would wait for more, and always the first
		// chunk, for the time to first byte.
		if !flushed || !er.Ready() {
			if err := ew.Flush(); err != nil {
				rl.c.outcome = "client_gone"
				return tokens()
			}
			flushed = true
		}
		if sr.stopped {
			rl.cancel() // stop the model: nothing more of this answer may leave
			break
		}
	}
	if rl.guardRefused(ctx, w) {
		return 0
	}
	rl.finishOutput(nil, sr.out)
	rl.c.tokens = tokens()
	if lab := rl.c.label; lab != nil {
		var err error
		if tail, err = lab.finishStream(rl.c, tail); err != nil {
			rl.failStream(ctx, ew, sr, clienterr.Wrap(clienterr.Internal, err, "could not encode a chunk"))
			return rl.c.tokens
		}
	} else {
		rl.c.answer.WriteString(rl.sent(sr))
	}
	if err := rl.g.commit(ctx, rl.c, http.StatusOK); err != nil {
		_ = ew.Error(err)
		return rl.c.tokens
	}
	if err := queueAll(ew, tail, nil); err != nil {
		rl.c.outcome = "client_gone"
		return rl.c.tokens
	}
	if lab := rl.c.label; lab != nil {
		w.Header().Set(http.TrailerPrefix+label.HeaderName, lab.sealedJSON)
	}
	_ = ew.Done()
	return rl.c.tokens
}

// sent is the text the client received of a stream, for the record:
// review's, or the grounding's, which comes after it.
func (rl *relay) sent(sr *streamReview) string {
	if rl.ground != nil {
		return rl.ground.sent.String()
	}
	return sr.sent.String()
}

// overLimits says why a stream must end before its next chunk: it ran
// past the time allowed, its content past the cap, or the memory budget
// has no room for what it holds.
func (rl *relay) overLimits(deadline time.Time, n int) *clienterr.Error {
	switch {
	case time.Now().After(deadline):
		return clienterr.Errorf(clienterr.UpstreamTimeout, "the answer went past the gateway's limit of %v per stream", rl.g.maxStream)
	case int64(n) > rl.g.maxAnswer:
		return clienterr.Errorf(clienterr.AnswerTooLarge, "the answer went past the gateway's limit of %d bytes per answer", rl.g.maxAnswer)
	case !rl.grant.grow(int64(n)):
		return errBudgetFull
	}
	return nil
}

// queueAll queues the chunks, then last unless nil, for the next flush.
func queueAll(ew *openai.EventWriter, chunks [][]byte, last []byte) error {
	for _, data := range chunks {
		if err := ew.Queue(data); err != nil {
			return err
		}
	}
	if last == nil {
		return nil
	}
	return ew.Queue(last)
}

// reviewChunk reviews and labels one chunk and returns what the client may
// see of it: the upstream's bytes when neither changed anything, a
// re-encoded chunk otherwise, and chunks to send before it (end labels);
// finishing says the chunk ends the answer (or follows its end).
func (rl *relay) reviewChunk(data []byte, chunk *openai.ChatChunk, sr *streamReview) ([]byte, [][]byte, bool, error) {
	patches := sr.chunk(chunk)
	if rl.ground != nil {
		patches = rl.ground.chunk(chunk, patches, sr)
	}
	var pre [][]byte
	if lab := rl.c.label; lab != nil {
		var err error
		if patches, pre, err = lab.placeChunk(chunk, data, patches, sr.out.Reply); err != nil {
			return nil, nil, false, err
		}
	}
	finishing := sr.stopped || len(chunk.Choices) == 0
	for _, ch := range chunk.Choices {
		finishing = finishing || ch.FinishReason != nil
	}
	var extra map[string]any
	if finishing && len(chunk.Choices) > 0 && rl.reportable(sr.out) {
		extra = map[string]any{"firebreak": rl.reports(sr.out)}
	}
	if finishing && len(chunk.Choices) > 0 && rl.ground != nil {
		if extra == nil {
			extra = map[string]any{}
		}
		extra[GroundingField] = rl.ground.field()
	}
	if len(patches) == 0 && extra == nil {
		return data, pre, finishing, nil
	}
	b, err := chunk.Encode(patches, extra)
	return b, pre, finishing, err
}

// failStream ends a stream that broke: held-back text is dropped (it was
// never fully reviewed) and an error event tells the client the answer is
// incomplete.
func (rl *relay) failStream(ctx context.Context, ew *openai.EventWriter, sr *streamReview, err error) {
	rl.finishOutput(nil, sr.out)
	if lab := rl.c.label; lab != nil && lab.stream != nil && rl.ground == nil {
		rl.c.answer.WriteString(lab.stream.Text()) // review kept no copy (keepSent)
	} else {
		rl.c.answer.WriteString(rl.sent(sr))
	}
	if ctx.Err() != nil {
		rl.c.outcome = "client_gone"
		return
	}
	rl.c.outcome = "stream_failed"
	e := upstreamReadError(err)
	var oe *clienterr.Error
	if errors.As(err, &oe) {
		e = oe
	}
	rl.g.metrics.streamFailures.WithLabelValues(string(e.Code)).Inc()
	_ = ew.Error(e)
}
