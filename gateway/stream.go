package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"

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
	bytes    int // content bytes seen, for a token estimate
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
			patches = append(patches, openai.Patch{Index: ch.Index, Content: &reply, FinishReason: &filtered})
			continue
		}
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
// with an error event, never with "[DONE]".
func (rl *relay) stream(ctx context.Context, w http.ResponseWriter, body io.Reader) int64 {
	ew := openai.NewEventWriter(w)
	er := openai.NewEventReader(body, 0)
	sr := newStreamReview(rl.engine)
	wantUsage := rl.req.StreamOptions != nil && rl.req.StreamOptions.IncludeUsage
	var usage *openai.Usage
	tokens := func() int64 {
		if usage != nil {
			return usage.Tokens()
		}
		return int64(rl.c.promptLen+sr.bytes)/4 + 1 // estimate when the upstream reports none
	}
	for {
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
		if err != nil || chunk.Raw["error"] != nil {
			if err == nil {
				err = errors.New("upstream sent an error event")
			}
			rl.failStream(ctx, ew, sr, openai.Wrap(openai.CodeUpstreamError, err, "the model server reported an error mid-stream"))
			return tokens()
		}
		if chunk.Usage != nil {
			usage = chunk.Usage
			if len(chunk.Choices) == 0 && !wantUsage {
				continue // usage was asked for by the gateway, not the client
			}
		}
		if err := rl.sendChunk(ew, ev.Data, chunk, sr); err != nil {
			rl.c.outcome = "client_gone"
			return tokens()
		}
		if sr.stopped {
			rl.cancel() // stop the model: nothing more of this answer may leave
			break
		}
	}
	rl.finishOutput(nil, sr.out)
	_ = ew.Done()
	return tokens()
}

// sendChunk writes one reviewed chunk: the upstream's bytes when review
// changed nothing, a re-encoded chunk otherwise.
func (rl *relay) sendChunk(ew *openai.EventWriter, data []byte, chunk *openai.ChatChunk, sr *streamReview) error {
	patches := sr.chunk(chunk)
	finishing := false
	for _, ch := range chunk.Choices {
		finishing = finishing || ch.FinishReason != nil
	}
	var extra map[string]any
	if (finishing || sr.stopped) && rl.reportable(sr.out) {
		extra = map[string]any{"firebreak": rl.reports(sr.out)}
	}
	if len(patches) == 0 && extra == nil {
		return ew.Data(data)
	}
	b, err := chunk.Encode(patches, extra)
	if err != nil {
		return err
	}
	return ew.Data(b)
}

// failStream ends a stream that broke: held-back text is dropped (it was
// never fully reviewed) and an error event tells the client the answer is
// incomplete.
func (rl *relay) failStream(ctx context.Context, ew *openai.EventWriter, sr *streamReview, err error) {
	rl.finishOutput(nil, sr.out)
	if ctx.Err() != nil {
		rl.c.outcome = "client_gone"
		return
	}
	rl.c.outcome = "stream_failed"
	e := upstreamReadError(err)
	var oe *openai.Error
	if errors.As(err, &oe) {
		e = oe
	}
	rl.g.metrics.streamFailures.WithLabelValues(string(e.Code)).Inc()
	_ = ew.Error(e)
}
