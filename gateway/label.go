package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"

	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/label"
	"github.com/firebreak/firebreak/openai"
)

// Labels picks the labelling of a request as Policies picks its engine
// (policy.Service).
type Labels interface {
	Labels(route, tenant string, minor bool) *label.Policy
}

// Headers of labelling.
const (
	// AgreementHeader carries the reference of the end user's recorded
	// agreement to receive output without the explicit label (Labelling
	// Measures Art. 9). It is honoured only where the policy in force for
	// the tenant allows unlabelled output and the request names its end
	// user.
	AgreementHeader = "X-Firebreak-Unlabelled-Agreement"
	// LabelHeader says how the answer is labelled: "explicit" (and
	// implicit), "implicit; json" (JSON mode) or "implicit; agreement".
	LabelHeader = "X-Firebreak-Label"
)

// labelling is the labelling of one chat answer: the explicit label's
// placement, the implicit label's fields, and once the answer is
// complete, the signed label and what the audit record keeps of it.
type labelling struct {
	answer     label.Answer
	aigc       label.AIGC // the implicit label, unsigned
	signer     *label.Signer
	unlabelled *label.Unlabelled
	stream     *label.Stream
	first      []byte // the stream's first chunk, to derive chunks from when the upstream sent no finishing one

	sealed     label.AIGC
	sealedJSON string          // sealed's JSON, encoded once for the answer, the header and the record
	record     json.RawMessage // for the audit record; nil until sealed
}

// newLabelling plans the labels of a chat answer under the policy in
// force for its route, tenant and minors' mode. It returns nil when the
// gateway labels nothing, and an error for a malformed agreement header.
func (g *Gateway) newLabelling(r *http.Request, c *call, req *openai.ChatRequest) (*labelling, error) {
	if g.labels == nil {
		return nil, nil
	}
	p := g.labels.Labels(c.model, c.principal.Tenant.Name, c.minor)
	l := &labelling{signer: g.signer, answer: label.Answer{Policy: p,
		Lang: label.FromAcceptLanguage(r.Header.Get("Accept-Language")), Prompt: req.LatestUserText()}}
	ref := r.Header.Get(AgreementHeader)
	if ref != "" && (len(ref) > 128 || !label.ValidValue(ref)) {
		return nil, &clienterr.Error{Code: clienterr.InvalidRequest, Param: AgreementHeader,
			Message: AgreementHeader + " must be the agreement's reference: at most 128 printable ASCII characters without quotes or backslashes"}
	}
	switch {
	case req.JSONMode():
		l.answer.Omit = label.OmitJSON
	case ref != "" && p.AllowUnlabelled && c.user != nil:
		l.answer.Omit = label.OmitAgreement
		l.unlabelled = &label.Unlabelled{Recipient: c.user.ID, Agreement: ref}
	}
	c.recordID = audit.NewID(c.start)
	l.aigc = label.AIGC{Label: label.Generated, ContentProducer: p.ContentProducer, ProduceID: c.recordID,
		ContentPropagator: p.ContentPropagator, ReservedCode2: p.ReservedCode2}
	if p.ContentPropagator != "" {
		l.aigc.PropagateID = c.id
	}
	return l, nil
}

// setHeaders sets the label headers; before the answer is complete (a
// stream's headers) the AIGC header carries the label unsigned, and the
// label header what the request asked for (a JSON-mode stream whose text
// turns out not to be JSON is still labelled at its end); after, what
// was placed.
func (l *labelling) setHeaders(w http.ResponseWriter) {
	if l.record != nil {
		w.Header().Set(label.HeaderName, l.sealedJSON)
	} else {
		w.Header().Set(label.HeaderName, l.aigc.String())
	}
	// Once the answer is complete the header says what was placed: a
	// tool call or an answer of no text carries no explicit label.
	where, omitted := l.answer.Placed()
	if l.record == nil || omitted == "" {
		omitted = l.answer.Omit
	}
	switch {
	case where != "none" || omitted == "":
		w.Header().Set(LabelHeader, "explicit")
	default:
		w.Header().Set(LabelHeader, "implicit; "+omitted)
	}
}

// seal signs the implicit label over the delivered text and keeps what
// the audit record holds of the labels. It returns the label's JSON.
func (l *labelling) seal(text string) json.RawMessage {
	hash := label.TextHash(text)
	l.sealed = l.signer.SignHash(l.aigc, hash)
	aigc := l.sealed.AppendJSON(make([]byte, 0, 512))
	l.sealedJSON = string(aigc)
	where, omitted := l.answer.Placed()
	rec := label.Record{AIGC: l.sealed, TextSHA256: hash, Explicit: where, Omitted: omitted, Unlabelled: l.unlabelled}
	// The record goes in the buffer's room after the label's JSON; nil
	// for a label json.Marshal would refuse, as before.
	l.record, _ = rec.AppendJSON(aigc[len(aigc):], aigc)
	return aigc[:len(aigc):len(aigc)]
}

// placeResponse labels each choice of a whole answer, on top of review's
// patches, and returns the patches.
func (l *labelling) placeResponse(resp *openai.ChatResponse, patches []openai.Patch) []openai.Patch {
	for _, ch := range resp.Choices {
		content := deliveredContent(ch, patches)
		p := patchAt(&patches, ch.Index)
		labelled := l.answer.Place(content, p.FinishReason != nil && *p.FinishReason == "content_filter", ch.Message.ToolCalls)
		if labelled != content {
			p.KeepLogprobs = p.Empty() // review changed nothing: the label only adds
			p.Content = &labelled
		}
	}
	return dropEmpty(patches)
}

// patchAt returns the patch of a choice, adding an empty one.
func patchAt(patches *[]openai.Patch, index int) *openai.Patch {
	for i := range *patches {
		if (*patches)[i].Index == index {
			return &(*patches)[i]
		}
	}
	*patches = append(*patches, openai.Patch{Index: index})
	return &(*patches)[len(*patches)-1]
}

func dropEmpty(patches []openai.Patch) []openai.Patch {
	out := patches[:0]
	for _, p := range patches {
		if !p.Empty() {
			out = append(out, p)
		}
	}
	return out
}

// placeChunk labels one streamed chunk after review: the start label in a
// choice's first content, the end label in chunks of their own (returned
// in pre) just before the chunk that finishes a choice. stopReply is the
// safe reply of a stop in this chunk. It allocates only what it changes.
func (l *labelling) placeChunk(chunk *openai.ChatChunk, data []byte, patches []openai.Patch, stopReply string) ([]openai.Patch, [][]byte, error) {
	if l.stream == nil {
		l.stream = l.answer.Stream()
		l.first = append([]byte(nil), data...)
	}
	var pre [][]byte
	for _, ch := range chunk.Choices {
		at := slices.IndexFunc(patches, func(p openai.Patch) bool { return p.Index == ch.Index })
		var p openai.Patch
		if at >= 0 {
			p = patches[at]
		}
		piece := label.Piece{Index: ch.Index, Tools: ch.Delta.ToolCalls, Finish: ch.FinishReason != nil || p.FinishReason != nil}
		switch {
		case p.Content != nil:
			piece.Content = *p.Content
		case ch.Delta.Content != nil:
			piece.Content = *ch.Delta.Content
		}
		if p.FinishReason != nil && *p.FinishReason == "content_filter" {
			piece.Reply = stopReply
		}
		content, before := l.stream.Place(piece)
		if before != nil {
			b, err := chunk.ContentChunk(ch.Index, *before)
			if err != nil {
				return nil, nil, err
			}
			pre = append(pre, b)
		}
		if content != piece.Content {
			if at < 0 { // review changed nothing: the label only adds
				patches = append(patches, openai.Patch{Index: ch.Index, KeepLogprobs: true})
				at = len(patches) - 1
			}
			changed := content
			patches[at].Content = &changed
		}
	}
	return patches, pre, nil
}

// finishStream ends a stream's labelling once the upstream is done: the
// end labels of choices it left unfinished, the delivered text on the
// call, the label sealed over it and set on the last chunk the client
// gets (or on a chunk of its own). It returns the chunks still to send.
func (l *labelling) finishStream(c *call, tail [][]byte) ([][]byte, error) {
	if l.stream == nil { // no chunk at all: an empty answer
		l.stream = l.answer.Stream()
		l.first = fmt.Appendf(nil, `{"id":"chatcmpl-fb-%s","object":"chat.completion.chunk","created":%d,"model":%q,"choices":[]}`,
			c.id, c.start.Unix(), c.model)
	}
	base, err := openai.ParseChatChunk(l.first)
	for _, p := range l.stream.Close() {
		if err != nil {
			break
		}
		var b []byte
		if b, err = base.ContentChunk(p.Index, p.Content); err == nil {
			tail = append(tail, b)
		}
	}
	text := l.stream.Text()
	c.answer.WriteString(text)
	aigc := l.seal(text)
	if err == nil && len(tail) == 0 {
		var b []byte
		if b, err = base.ContentChunk(0, ""); err == nil {
			tail = append(tail, b)
		}
	}
	if err != nil {
		return nil, err
	}
	tail[len(tail)-1], err = openai.SetField(tail[len(tail)-1], label.FieldName, aigc)
	return tail, err
}
