package openai

import (
	"errors"
	"fmt"
)

// An answer carries text for a person or a program in its choices'
// messages (or deltas), where review reads all of it (see answerTexts).
// Anything else an upstream puts in an answer is relayed only when it
// holds no text, or is one of the answer's identifiers: a compromised or
// careless upstream cannot push unreviewed text to a client in a field
// the gateway does not know.

// relayedAnswerMember says a top-level member of a whole answer is
// relayed whatever it holds.
func relayedAnswerMember(key string) bool {
	switch key {
	case "choices", "id", "object", "created", "model", "system_fingerprint", "service_tier":
		return true
	}
	return false
}

// relayedChunkMember is relayedAnswerMember for a stream's chunk, whose
// error event fails the stream rather than reach the client.
func relayedChunkMember(key string) bool {
	return key == "error" || relayedAnswerMember(key)
}

// scrubMembers removes from an object the members that keep does not
// name and that hold text, and says whether it removed any.
func scrubMembers(obj *node, keep func(key string) bool) bool {
	if !obj.kindIs(kindObject) {
		return false
	}
	kept := obj.members[:0]
	for _, m := range obj.members {
		if keep(m.key) || !holdsText(m.val) {
			kept = append(kept, m)
		}
	}
	removed := len(kept) < len(obj.members)
	clear(obj.members[len(kept):])
	obj.members = kept
	return removed
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
	if scrubMembers(choice, func(key string) bool {
		return key == field || key == "index" || key == "finish_reason" || key == "logprobs"
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
