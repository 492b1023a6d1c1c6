package openai

import (
	"strconv"
)

// AnswerText is one text of an answer's message or delta other than its
// content: a tool call's name or arguments, reasoning, a refusal, a field
// this gateway does not know. A client shows all of them or acts on them.
type AnswerText struct {
	// Key names what the text continues across the chunks of a stream:
	// "reasoning_content", "tool_calls.1.function.arguments" (the 1 is the
	// tool call's own index, not its place in this chunk's array).
	Key string
	// Path is where the text is in this message or delta, for a patch:
	// "tool_calls.0.function.arguments".
	Path  string
	Value string
	// ToolCall is the tool call's index for a text inside a tool call
	// (and Field its name there, "name" or "arguments"); -1 otherwise.
	ToolCall int
	Field    string

	segs []string // Path, one key or array position each
}

// notAnswerText are the keys of a message or delta whose values are no
// text for a person or a program to act on (or, content, read apart).
var notAnswerText = map[string]bool{"role": true, "content": true, "id": true, "type": true, "index": true, "tool_call_id": true}

// notNestedText are the keys, deeper in a message or delta, whose values
// are identifiers rather than text. Content is text at any depth: only
// the message's own content is read apart.
var notNestedText = map[string]bool{"id": true, "type": true, "index": true, "tool_call_id": true}

// unread says a member of a message or delta is not one of its texts:
// its content, read apart, or an identifier that reads as one (a role or
// an id in the form of a sentence is read as text).
func unread(key string, val *node) bool {
	return notAnswerText[key] && (key == "content" || nameLike(val))
}

// answerTexts lists the texts of a message or delta other than content.
func answerTexts(msg *node) []AnswerText {
	if msg == nil || msg.kind != kindObject {
		return nil
	}
	var out []AnswerText
	for i := range msg.members {
		m := &msg.members[i]
		if unread(m.key, m.val) {
			continue
		}
		if m.key == "tool_calls" && m.val.kind == kindArray {
			for pos, tc := range m.val.elems {
				idx := pos
				if in := tc.get("index"); in != nil && in.kind == kindNumber {
					if v, err := strconv.Atoi(in.str); err == nil {
						idx = v
					}
				}
				p, k := "tool_calls."+strconv.Itoa(pos), "tool_calls."+strconv.Itoa(idx)
				collectAnswer(tc, p, k, []string{"tool_calls", strconv.Itoa(pos)}, idx, "", &out)
			}
			continue
		}
		collectAnswer(m.val, m.key, m.key, []string{m.key}, -1, "", &out)
	}
	return out
}

func collectAnswer(n *node, path, key string, segs []string, tool int, field string, out *[]AnswerText) {
	switch n.kind {
	case kindString:
		*out = append(*out, AnswerText{Key: key, Path: path, Value: n.str, ToolCall: tool, Field: field, segs: segs})
	case kindArray:
		for i, e := range n.elems {
			s := strconv.Itoa(i)
			collectAnswer(e, path+"."+s, key+"."+s, append(segs[:len(segs):len(segs)], s), tool, field, out)
		}
	case kindObject:
		for i := range n.members {
			m := &n.members[i]
			if notNestedText[m.key] && nameLike(m.val) {
				continue
			}
			f := field
			if tool >= 0 && path != "" {
				f = m.key
			}
			collectAnswer(m.val, path+"."+m.key, key+"."+m.key, append(segs[:len(segs):len(segs)], m.key), tool, f, out)
		}
	}
}

// at returns the node at a text's path segments, or nil.
func (n *node) at(segs []string) *node {
	for _, s := range segs {
		switch {
		case n == nil:
			return nil
		case n.kind == kindArray:
			i, err := strconv.Atoi(s)
			if err != nil || i < 0 || i >= len(n.elems) {
				return nil
			}
			n = n.elems[i]
		default:
			n = n.get(s)
		}
	}
	return n
}
