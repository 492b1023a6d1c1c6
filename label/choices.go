package label

import (
	"encoding/json"
	"slices"
	"strconv"
)

// ChoicesText is the delivered text of an answer whose choices, in index
// order, delivered texts: the text of a single choice as it is; for
// several, each as a netstring (its length in bytes, ':', the text, ','),
// so that the signature binds each choice's text and not only their
// concatenation, which text moved from one choice to another kept.
func ChoicesText(texts []string) string {
	if len(texts) == 1 {
		return texts[0]
	}
	n := 0
	for _, t := range texts {
		n += len(t) + 12
	}
	b := make([]byte, 0, n)
	for _, t := range texts {
		b = append(strconv.AppendInt(b, int64(len(t)), 10), ':')
		b = append(append(b, t...), ',')
	}
	return string(b)
}

// CompletionText is the delivered text of a chat completion saved as
// JSON, as its label's signature covers it: the content of its choices
// in index order (ChoicesText). ok is false for JSON without choices.
func CompletionText(b []byte) (text string, ok bool, err error) {
	type choice struct {
		Index   int
		Message struct{ Content *string }
	}
	var c struct{ Choices []choice }
	if err := json.Unmarshal(b, &c); err != nil {
		return "", false, err
	}
	if c.Choices == nil {
		return "", false, nil
	}
	slices.SortStableFunc(c.Choices, func(x, y choice) int { return x.Index - y.Index })
	texts := make([]string, len(c.Choices))
	for i, ch := range c.Choices {
		if ch.Message.Content != nil {
			texts[i] = *ch.Message.Content
		}
	}
	return ChoicesText(texts), true, nil
}
