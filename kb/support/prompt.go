package support

import (
	"fmt"
	"strings"
)

// Instructions open the system message of a grounded request, in Chinese
// and English, before the numbered passages.
const Instructions = `仅根据下面编号的资料回答用户的问题，不要使用资料以外的知识。每一句陈述之后用方括号注明所依据资料的编号，例如 [1]。如果资料中没有答案，请直接说明资料中没有相关信息，不要猜测。
Answer the user's question only from the numbered passages below, not from other knowledge. After each statement, cite the passage it rests on by its number in square brackets, like [1]. If the passages do not contain the answer, say that they do not; do not guess.`

// Source is a passage as the prompt shows it.
type Source struct {
	Title string
	Text  string
}

// Prompt is the system message that grounds a request in sources,
// numbered from 1 in the order given: the gateway's grounded routes and
// the evaluator's grounded QA items use the same.
func Prompt(sources []Source) string {
	var b strings.Builder
	b.WriteString(Instructions)
	b.WriteString("\n\n")
	if len(sources) == 0 {
		b.WriteString("（没有找到相关资料。No passages were found.）\n")
	}
	for i, s := range sources {
		fmt.Fprintf(&b, "[%d] %s\n%s\n\n", i+1, s.Title, strings.TrimSpace(s.Text))
	}
	return strings.TrimRight(b.String(), "\n")
}
