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
// moderator per choice, carrying matcher state across chunks.
type streamReview struct {
	engine   *safety.Engine
	choices  map[int]*safety.Stream
	finished map[int]bool
	out      safety.Decision
	stopped  bool
	bytes    int             // content bytes seen, for a token estimate
	sent     strings.Builder // content the client receives, for the record
}

func newStreamReview(e *safety.Engine) *streamReview {
	return &streamReview{engine: e, choices: map[int]*safety.Stream{}, finished: map[int]bool{},
		out: safety.Decision{Action: safety.Allow, Version: e.Version()}}
}

// chunk reviews one chunk and returns the patches that turn it into what
// the client may see. After a stop the answer must end at this chunk.
func (sr *streamReview) chunk(c *openai.ChatChunk) []openai.Patch {
	var patches []openai.Patch
	for _, ch := range c.Choices {
		s := sr.choices[ch.Index]
		if s == nil {
			s = sr.engine.NewStream(safety.Output)
			sr.choices[ch.Index] = s
		}
		var release string
		var res safety.StreamResult
		if ch.Delta.Content != nil {
			sr.bytes += len(*ch.Delta.Content)
			res = s.Write(*ch.Delta.Content)
			release = res.Release
		}
		if !res.Stop && ch.FinishReason != nil {
			res = s.Close()
			release += res.Release
			sr.finished[ch.Index] = true
		}
		merge(&sr.out, res.Decision)
		if res.Stop {
			sr.stopped = true
			filtered := "content_filter"
			reply := release + res.Decision.Reply
			sr.sent.WriteString(reply)
			patches = append(patches, openai.Patch{Index: ch.Index, Content: &reply, FinishReason: &filtered})
			continue
		}
		sr.sent.WriteString(release)
		if ch.Delta.Content == nil && release == "" {
			continue
		}
		if ch.Delta.Content == nil || release != *ch.Delta.Content {
			rel := release
			patches = append(patches, openai.Patch{Index: ch.Index, Content: &rel})
		}
	}
	return patches
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
	sr := newStreamReview(rl.engine)
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
	deadline := time.Now().Add(rl.g.maxStream)
	for {
		if time.Now().After(deadline) || sr.bytes > maxCompletionBytes {
			rl.cancel()
			rl.failStream(ctx, ew, sr, clienterr.Errorf(clienterr.UpstreamTimeout,
				"the answer went past the gateway's limit of %v or %d MiB per stream", rl.g.maxStream, maxCompletionBytes>>20))
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
		chunk, err := openai.ParseChatChunk(ev.Data)
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
		data, pre, finishing, err := rl.reviewChunk(ev.Data, chunk, sr)
		if err != nil {
			rl.failStream(ctx, ew, sr, clienterr.Wrap(clienterr.Internal, err, "could not encode a chunk"))
			return tokens()
		}
		if rl.guardRefused(ctx, w) {
			return 0
		}
		if finishing || len(tail) > 0 {
			tail = append(append(tail, pre...), bytes.Clone(data))
		} else if err := sendAll(ew, pre, data); err != nil {
			rl.c.outcome = "client_gone"
			return tokens()
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
		rl.c.answer.WriteString(sr.sent.String())
	}
	if err := rl.g.commit(ctx, rl.c, http.StatusOK); err != nil {
		_ = ew.Error(err)
		return rl.c.tokens
	}
	if err := sendAll(ew, tail, nil); err != nil {
		rl.c.outcome = "client_gone"
		return rl.c.tokens
	}
	if lab := rl.c.label; lab != nil {
		w.Header().Set(http.TrailerPrefix+label.HeaderName, lab.sealed.String())
	}
	_ = ew.Done()
	return rl.c.tokens
}

// sendAll sends the chunks, then last unless nil.
func sendAll(ew *openai.EventWriter, chunks [][]byte, last []byte) error {
	for _, data := range chunks {
		if err := ew.Data(data); err != nil {
			return err
		}
	}
	if last == nil {
		return nil
	}
	return ew.Data(last)
}

// reviewChunk reviews and labels one chunk and returns what the client may
// see of it: the upstream's bytes when neither changed anything, a
// re-encoded chunk otherwise, and chunks to send before it (end labels);
// finishing says the chunk ends the answer (or follows its end).
func (rl *relay) reviewChunk(data []byte, chunk *openai.ChatChunk, sr *streamReview) ([]byte, [][]byte, bool, error) {
	patches := sr.chunk(chunk)
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
	rl.c.answer.WriteString(sr.sent.String())
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
