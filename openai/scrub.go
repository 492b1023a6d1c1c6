package openai

import (
	"errors"
	"fmt"
)

// An answer carries text for a person or a program in its choices'
// messages (or deltas), where review reads all of it but for identifiers
// (see answerTexts). Anything else an upstream puts in an answer is
// relayed only when it holds no text, or is one of the answer's
// identifiers and reads as one: a compromised or careless upstream cannot
// push unreviewed text to a client in a field the gateway does not know.

// relayedAnswerMember says a top-level member of a whole answer is
// relayed whatever it holds: its choices, and its identifiers when they
// read as names.
func relayedAnswerMember(key string, val *node) bool {
	switch key {
	case "choices":
		return true
	case "model":
		return val.kind == kindString // the gateway names its public model instead
	case "id", "object", "system_fingerprint", "service_tier":
		return nameLike(val)
	}
	return false
}

// relayedChunkMember is relayedAnswerMember for a stream's chunk, whose
// error event fails the stream rather than reach the client.
func relayedChunkMember(key string, val *node) bool {
	return key == "error" || relayedAnswerMember(key, val)
}

// scrubMembers removes from an object the members that hold text and that
// keep does not name, and says whether it removed any.
func scrubMembers(obj *node, keep func(key string, val *node) bool) bool {
	if !obj.kindIs(kindObject) {
		return false
	}
	kept := obj.members[:0]
	for _, m := range obj.members {
		if !holdsText(m.val) || keep(m.key, m.val) {
			kept = append(kept, m)
		}
	}
	removed := len(kept) < len(obj.members)
	clear(obj.members[len(kept):])
	obj.members = kept
	return removed
}

// nameLike says a value is no text for a person: not a string, or a
// string that reads as an identifier ("chatcmpl-9f2c", "assistant",
// "call_0"), 1 to 256 printable ASCII bytes without a space.
func nameLike(n *node) bool {
	switch n.kind {
	case kindNull, kindBool, kindNumber:
		return true
	case kindString:
		if len(n.str) == 0 || len(n.str) > 256 {
			return len(n.str) == 0
		}
		for i := 0; i < len(n.str); i++ {
			if c := n.str[i]; c <= ' ' || c > '~' {
				return false
			}
		}
		return true
	}
	return false
}

// holdsText says a value is or contains a string.
func holdsText(n *node) bool {
	switch n.kind {
	case kindString, kindRaw:
		return true
	case kindArray:
		for _, e := range n.elems {
			if holdsText(e) {
				return true
			}
		}
	case kindObject:
		for _, m := range n.members {
			if holdsText(m.val) {
				return true
			}
		}
	}
	return false
}

// readChoice checks one choice of an answer and returns its message or
// delta (field; nil when absent or null). A choice that is not an object,
// a message or delta that is neither an object nor null, and a
// finish_reason that is not a reason's name are errors: their text could
// not be reviewed, and a client might still show it. The choice's other
// members that hold text are removed (logprobs excepted: see Patch), and
// *scrubbed is set when any was.
func readChoice(choice *node, field string, scrubbed *bool) (*node, error) {
	if !choice.kindIs(kindObject) {
		return nil, errors.New("a choice is not an object")
	}
	if fr := choice.get("finish_reason"); fr.kindIs(kindString) && !isReason(fr.str) {
		return nil, errors.New("a choice's finish_reason is not a reason")
	}
	if scrubMembers(choice, func(key string, val *node) bool {
		return key == field || key == "finish_reason" || key == "logprobs" || key == "index" && nameLike(val)
	}) {
		*scrubbed = true
	}
	part := choice.get(field)
	if part == nil || part.kind == kindNull {
		return nil, nil
	}
	if part.kind != kindObject {
		return nil, fmt.Errorf("a choice's %s is not an object", field)
	}
	return part, nil
}

// isReason says s reads as a finish reason's name ("stop", "tool_calls",
// "eos_token"): a short word of ASCII letters, digits, '_' and '-'.
func isReason(s string) bool {
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// reencoded encodes a scrubbed tree. The string tokens' offsets were of
// the parsed bytes, so the model's is forgotten: a rename encodes again.
func reencoded(root *node, size int) []byte {
	if m := root.get("model"); m != nil {
		m.tokEnd = 0
	}
	return root.encode(make([]byte, 0, size))
}
