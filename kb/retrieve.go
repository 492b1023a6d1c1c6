package kb

import (
	"context"
	"strings"

	"github.com/firebreak/firebreak/kb/support"
)

// Texts a grounded route adds to answers, in Chinese and English.
const (
	// Marker follows each unsupported sentence of an annotated answer.
	Marker = "〔未经资料证实 unsupported〕"
	// CautionText is appended to an answer with unsupported sentences on
	// a route whose action is caution.
	CautionText = "\n\n注意：本回答中有内容未能在所依据的资料中找到支持，请核实后再采用。\nCaution: parts of this answer are not supported by the reference documents; verify them before relying on them."
	// RefusalText replaces an answer refused for unsupported sentences.
	RefusalText = "抱歉，根据现有资料无法给出可靠的回答，请咨询专业人士。\nSorry, the reference documents do not support a reliable answer; please consult a professional."
)

// Risk codes of GB/T 45654-2025 Appendix A that a flagged answer bears.
const (
	// CodeInaccurate (A5a, inaccurate content) is for an answer that states
	// what the passages found do not support.
	CodeInaccurate = "A5a"
	// CodeUnreliable (A5b, unreliable content of no help) is for an answer
	// given when nothing was found to ground it on.
	CodeUnreliable = "A5b"
)

// Retrieval is what grounds one request: the route's settings, the
// passages found for the conversation, and the evidence to check the
// answer against.
type Retrieval struct {
	Grounding Grounding
	Passages  []Passage
	Evidence  *support.Evidence
}

// Code is the risk code of an answer flagged under this retrieval.
func (r *Retrieval) Code() string {
	if len(r.Passages) == 0 {
		return CodeUnreliable
	}
	return CodeInaccurate
}

// Retrieve finds the passages that ground a request on route for tenant,
// query being the conversation's latest user turns. It returns nil when
// the route is not grounded.
func (s *Service) Retrieve(ctx context.Context, route, tenant, query string) (*Retrieval, error) {
	g, ok := s.GroundingOf(route)
	if !ok {
		return nil, nil
	}
	bases, err := s.BasesFor(ctx, route, tenant)
	if err != nil {
		return nil, err
	}
	ps, err := s.Search(ctx, bases, query, g.TopK)
	if err != nil {
		return nil, err
	}
	texts := make([]string, len(ps))
	for i, p := range ps {
		texts[i] = p.Text
	}
	return &Retrieval{Grounding: g, Passages: ps, Evidence: support.NewEvidence(texts)}, nil
}

// Mark returns sentence s with Marker after its last character and
// before the spaces that end it.
func Mark(s string) string {
	body := strings.TrimRight(s, " \t\r\n")
	return body + Marker + s[len(body):]
}
