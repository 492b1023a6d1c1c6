package label

import (
	"encoding/json"
	"slices"
	"strings"
)

// Sep separates an explicit label from the answer's text.
const Sep = "\n\n"

// Why an answer, or a choice of it, carries no explicit label.
const (
	OmitJSON      = "json"       // JSON mode: clients parse the content
	OmitTools     = "tools"      // a tool-call answer: clients parse the calls
	OmitAgreement = "agreement"  // the end user's recorded agreement
	OmitSafeReply = "safe_reply" // a safe reply, and the policy labels none
	OmitEmpty     = "empty"      // no text to label
)

// Answer is the labelling of one answer: the policy in force for it, its
// language, and whether explicit labels go into its text at all (Omit
// says why not). Its methods place the labels; an Answer is used by one
// request at a time.
type Answer struct {
	Policy *Policy
	// Lang picks the explicit label's text; Auto detects it from the text
	// labelled (on a stream, the start label is placed before the answer
	// exists, so Prompt is read instead).
	Lang   Lang
	Prompt string
	// Omit, when set, means no explicit label at all, for this reason.
	Omit string

	placed  Position
	omitted string
}

// Place returns a whole text with the explicit labels at its start and
// end as the policy says. reply says the text is a safe reply; tools that
// the choice carries tool calls.
func (a *Answer) Place(text string, reply, tools bool) string {
	if !a.explicit(a.omitFor(text), text != "", reply, tools) {
		return text
	}
	lbl := a.Policy.Text(a.Lang.Or(text))
	if a.Policy.at(Start) {
		text = lbl + Sep + text
		a.placed |= Start
	}
	if a.Policy.at(End) {
		text = text + Sep + lbl
		a.placed |= End
	}
	return text
}

// omitFor is the answer's reason to leave text without an explicit
// label. JSON mode holds only for text that parses as JSON: a model that
// ignored the response format wrote prose, which people read.
func (a *Answer) omitFor(text string) string {
	if a.Omit == OmitJSON && !json.Valid([]byte(text)) {
		return ""
	}
	return a.Omit
}

// explicit says whether a choice gets explicit labels, noting why not:
// why is the answer's reason (omitFor), tools that the choice carries
// tool calls, which leave only a choice without text unlabelled (prose
// beside a call is read by people, the call by programs).
func (a *Answer) explicit(why string, hasText, reply, tools bool) bool {
	switch {
	case why != "":
	case tools && !hasText:
		why = OmitTools
	case reply && !a.Policy.SafeReplies:
		why = OmitSafeReply
	case !hasText:
		why = OmitEmpty
	default:
		return true
	}
	if a.omitted == "" {
		a.omitted = why
	}
	return false
}

// Placed says where explicit labels went ("none" for nowhere) and why
// some were left out.
func (a *Answer) Placed() (where, omitted string) {
	if a.placed == 0 && a.omitted == "" {
		return "none", a.Omit
	}
	return a.placed.String(), a.omitted
}

// Piece is one choice's part of a streamed chunk, as review lets the
// client see it.
type Piece struct {
	Index   int
	Content string // the delta's content after review; "" for none
	// Reply is the safe reply that ends Content when review stopped the
	// answer in this chunk.
	Reply  string
	Tools  bool // the delta carries tool calls
	Finish bool // the chunk ends this choice (it has a finish_reason)
}

// Stream places labels in a streamed answer chunk by chunk: the start
// label in a choice's first chunk with content, the end label in a chunk
// of its own just before the chunk that finishes the choice. It keeps the
// text each choice delivered, labels included.
type Stream struct {
	a       *Answer
	lang    Lang
	choices []*streamChoice
}

type streamChoice struct {
	index                 int
	started, ended, tools bool
	text                  strings.Builder
}

// Stream starts placing labels on a stream.
func (a *Answer) Stream() *Stream { return &Stream{a: a, lang: a.Lang} }

func (s *Stream) choice(index int) *streamChoice {
	for _, c := range s.choices {
		if c.index == index {
			return c
		}
	}
	c := &streamChoice{index: index}
	s.choices = append(s.choices, c)
	return c
}

// label is the explicit label's text; the language is settled the first
// time it is needed, from text when the policy leaves it to detection.
func (s *Stream) label(text string) string {
	if s.lang == Auto {
		s.lang = Detect(text)
	}
	return s.a.Policy.Text(s.lang)
}

// Place returns what the client gets of one piece: its content, and when
// before is non-nil, the content of a chunk to send for this choice just
// before the piece's chunk (the piece's own content moves there, ahead of
// the end label, and Content is then "").
func (s *Stream) Place(p Piece) (content string, before *string) {
	c := s.choice(p.Index)
	c.tools = c.tools || p.Tools
	content = p.Content
	generated := content[:len(content)-len(p.Reply)]
	if !c.started && s.a.Policy.at(Start) && (generated != "" || content != "" && s.a.Policy.SafeReplies) {
		c.started = true
		// In JSON mode the start comes before the text shows whether it
		// parses: the label then waits for the end.
		if s.a.explicit(s.a.Omit, true, generated == "", c.tools) {
			content = s.label(s.a.Prompt) + Sep + content
			s.a.placed |= Start
		}
	}
	if p.Finish && !c.ended {
		c.ended = true
		hasText := c.text.Len() > 0 || content != ""
		why, end := s.a.Omit, s.a.Policy.at(End)
		if why == OmitJSON {
			why = s.a.omitFor(c.text.String() + content)
			end = end || why == "" // not JSON: labelled at the end, whatever the position
		}
		if end && s.a.explicit(why, hasText, p.Reply != "", c.tools) {
			b := content + Sep + s.label(c.text.String()+content)
			s.a.placed |= End
			c.text.WriteString(b)
			return "", &b
		}
	}
	c.text.WriteString(content)
	return content, nil
}

// Close ends the choices that the stream ended without a finish reason:
// it returns, per choice index, the end label to send after everything
// else (none when the policy places none at the end).
func (s *Stream) Close() []Piece {
	var out []Piece
	for _, c := range s.choices {
		if c.ended {
			continue
		}
		if _, before := s.Place(Piece{Index: c.index, Finish: true}); before != nil {
			out = append(out, Piece{Index: c.index, Content: *before})
		}
	}
	return out
}

// Text is the delivered text of every choice in index order, labels
// included (ChoicesText): what the signature of the answer's label covers.
func (s *Stream) Text() string {
	if len(s.choices) == 1 {
		return s.choices[0].text.String() // no copy: an answer may be megabytes
	}
	cs := slices.Clone(s.choices)
	slices.SortFunc(cs, func(a, b *streamChoice) int { return a.index - b.index })
	texts := make([]string, len(cs))
	for i, c := range cs {
		texts[i] = c.text.String()
	}
	return ChoicesText(texts)
}
