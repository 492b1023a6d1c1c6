package kb

import (
	"strings"
	"unicode/utf8"

	"github.com/firebreak/firebreak/kb/support"
)

// Instructions open the system message of a grounded request.
const Instructions = support.Instructions

// Prompt is the system message that grounds a request in passages,
// numbered from 1 in the order given.
func Prompt(passages []Passage) string {
	sources := make([]support.Source, len(passages))
	for i, p := range passages {
		sources[i] = support.Source{Title: p.Title, Text: p.Text}
	}
	return support.Prompt(sources)
}

// Citation is a passage given to the model, as a response names it.
type Citation struct {
	Index      int     `json:"index"` // the number the answer cites it by
	Base       string  `json:"base"`
	DocumentID int64   `json:"document_id"`
	ChunkID    int64   `json:"chunk_id"`
	Title      string  `json:"title"`
	Excerpt    string  `json:"excerpt"` // the passage's first 200 characters
	Score      float64 `json:"score"`
	// Cited says the answer cites this passage.
	Cited bool `json:"cited"`
}

// Citations lists the passages with which of them support cites.
func Citations(passages []Passage, sup support.Support) []Citation {
	cited := map[int]bool{}
	for _, s := range sup.Sentences {
		for _, n := range s.Cites {
			cited[n] = true
		}
	}
	out := make([]Citation, len(passages))
	for i, p := range passages {
		out[i] = Citation{Index: i + 1, Base: p.Base, DocumentID: p.DocumentID, ChunkID: p.ChunkID, Title: p.Title,
			Excerpt: excerpt(p.Text, 200), Score: p.Score, Cited: cited[i+1]}
	}
	return out
}

func excerpt(s string, n int) string {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
