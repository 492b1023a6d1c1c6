package kb

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/firebreak/firebreak/kb/support"
)

// Instructions open the system message of a grounded request, in Chinese
// and English, before the numbered passages.
const Instructions = `仅根据下面编号的资料回答用户的问题，不要使用资料以外的知识。每一句陈述之后用方括号注明所依据资料的编号，例如 [1]。如果资料中没有答案，请直接说明资料中没有相关信息，不要猜测。
Answer the user's question only from the numbered passages below, not from other knowledge. After each statement, cite the passage it rests on by its number in square brackets, like [1]. If the passages do not contain the answer, say that they do not; do not guess.`

// Prompt is the system message that grounds a request in passages,
// numbered from 1 in the order given.
func Prompt(passages []Passage) string {
	var b strings.Builder
	b.WriteString(Instructions)
	b.WriteString("\n\n")
	if len(passages) == 0 {
		b.WriteString("（没有找到相关资料。No passages were found.）\n")
	}
	for i, p := range passages {
		fmt.Fprintf(&b, "[%d] %s\n%s\n\n", i+1, p.Title, strings.TrimSpace(p.Text))
	}
	return strings.TrimRight(b.String(), "\n")
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
