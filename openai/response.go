package openai

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
)

// Usage is the token accounting an upstream reports.
type Usage struct {
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
	TotalTokens      int64 `json:"total_tokens"`
}

// Tokens returns the total, computing it when the upstream left it out.
func (u *Usage) Tokens() int64 {
	if u == nil {
		return 0
	}
	if u.TotalTokens > 0 {
		return u.TotalTokens
	}
	return u.PromptTokens + u.CompletionTokens
}

func usageOf(u *node) *Usage {
	if !u.kindIs(kindObject) {
		return nil
	}
	return &Usage{PromptTokens: int64(intOf(u.get("prompt_tokens"))), CompletionTokens: int64(intOf(u.get("completion_tokens"))),
		TotalTokens: int64(intOf(u.get("total_tokens")))}
}

func (n *node) kindIs(k kind) bool { return n != nil && n.kind == k }

// intOf reads an integer; anything else is 0.
func intOf(n *node) int {
	if !n.kindIs(kindNumber) {
		return 0
	}
	if v, err := strconv.Atoi(n.str); err == nil {
		return v
	}
	f, _ := strconv.ParseFloat(n.str, 64)
	return int(f)
}

// repeatedIndex is the error of an answer or chunk in which two choices
// have one index: a client merges choices by index and review's changes
// address them by it, so the second would go out as the upstream wrote it.
func repeatedIndex(what string, index int) error {
	return fmt.Errorf("decode %s: two choices have index %d", what, index)
}

func strOf(n *node) string {
	if !n.kindIs(kindString) {
		return ""
	}
	return n.str
}

// ChatResponse is a non-streamed chat completion as read from an upstream,
// parsed as strictly as a ChatChunk.
type ChatResponse struct {
	Choices []ResponseChoice
	Usage   *Usage

	root *node
	data []byte
	// scrubbed says members holding text review does not read were
	// removed from root: data must be encoded again.
	scrubbed bool
}

// reencode makes data the tree's encoding when members were scrubbed.
func (r *ChatResponse) reencode() {
	if r.scrubbed {
		r.data = reencoded(r.root, len(r.data))
	}
}

// SetModel makes the answer name model (see ChatChunk.SetModel).
func (r *ChatResponse) SetModel(model string) { r.data = setModel(r.root, r.data, model, nil) }

// Bytes is the answer as it stands (see ChatChunk.Bytes).
func (r *ChatResponse) Bytes() []byte { return r.data }

// ResponseChoice is one choice of a non-streamed completion.
type ResponseChoice struct {
	Index        int
	Message      ResponseMessage
	FinishReason string

	node *node
}

// ResponseMessage is the assistant message of a choice.
type ResponseMessage struct {
	Role    string
	Content *string
	// ToolCalls says the message carries tool calls (or a legacy
	// function_call).
	ToolCalls bool
	// Texts are the message's texts other than content (see Delta.Texts).
	Texts []AnswerText
}

// ParseChatResponse reads an upstream's chat completion body.
func ParseChatResponse(body []byte) (*ChatResponse, error) {
	root, err := parseAnswer(body, "chat completion")
	if err != nil {
		return nil, err
	}
	r := &ChatResponse{root: root, data: body, Usage: usageOf(root.get("usage"))}
	defer r.reencode()
	r.scrubbed = scrubMembers(root, relayedAnswerMember)
	choices := root.get("choices")
	if choices != nil && choices.kind != kindArray && choices.kind != kindNull {
		return nil, errors.New("decode chat completion: choices is not an array")
	}
	if choices == nil {
		return r, nil
	}
	for _, ch := range choices.elems {
		msg, err := readChoice(ch, "message", &r.scrubbed)
		if err != nil {
			return nil, fmt.Errorf("decode chat completion: %w", err)
		}
		rc := ResponseChoice{Index: intOf(ch.get("index")), FinishReason: strOf(ch.get("finish_reason")), node: ch}
		if slices.ContainsFunc(r.Choices, func(o ResponseChoice) bool { return o.Index == rc.Index }) {
			return nil, repeatedIndex("chat completion", rc.Index)
		}
		rc.Message.Role = strOf(msg.get("role"))
		if c := msg.get("content"); c.kindIs(kindString) {
			s := c.str
			rc.Message.Content = &s
		}
		rc.Message.ToolCalls = hasToolCalls(msg)
		rc.Message.Texts = answerTexts(msg)
		r.Choices = append(r.Choices, rc)
	}
	return r, nil
}

// Patch changes a response before it goes to the client. Content and
// FinishReason apply to the choice with the given index; nil leaves a field
// as it is.
type Patch struct {
	Index        int
	Content      *string
	FinishReason *string
	// Texts set texts of the choice's message or delta (from its Texts)
	// to new values.
	Texts []TextPatch
	// DropTexts removes every text but content from the choice: a refused
	// answer keeps only the safe reply.
	DropTexts bool
	// A patch that changes any text drops the choice's logprobs, which
	// spell the text as the model wrote it, unless KeepLogprobs says the
	// change only adds to that text (a label).
	KeepLogprobs bool
	// Append adds texts held back from earlier chunks of a stream: a
	// tool-call text as a tool_calls element of its index, any other at
	// its key.
	Append []AnswerText
}

// Empty says the patch changes nothing.
func (p Patch) Empty() bool {
	return p.Content == nil && p.FinishReason == nil && len(p.Texts) == 0 && !p.DropTexts && len(p.Append) == 0
}

// TextPatch sets one answer text.
type TextPatch struct {
	Text  AnswerText
	Value string
}

// Encode returns the response with patches applied and extra top-level
// fields added (for example the gateway's review report). It changes the
// parsed response: call it once.
func (r *ChatResponse) Encode(patches []Patch, extra map[string]any) ([]byte, error) {
	return encodePatched(r.root, len(r.data), "message", func(index int) *node {
		for _, ch := range r.Choices {
			if ch.Index == index {
				return ch.node
			}
		}
		return nil
	}, patches, extra)
}

// encodePatched applies patches to the choices of root (in their field,
// "message" or "delta") and extra top-level members, and encodes it.
//
// size is the length of the encoding root was parsed from: with the extra
// members' lengths and room for a patch or two, it sizes the encoding's
// buffer, so that a whole answer is one allocation, not several.
func encodePatched(root *node, size int, field string, choice func(index int) *node, patches []Patch, extra map[string]any) ([]byte, error) {
	for _, p := range patches {
		ch := choice(p.Index)
		if ch == nil {
			continue
		}
		msg := ch.get(field)
		if !msg.kindIs(kindObject) {
			msg = &node{kind: kindObject}
			ch.set(field, msg)
		}
		if !p.KeepLogprobs && (p.Content != nil || len(p.Texts) != 0 || p.DropTexts || len(p.Append) != 0) {
			if lp := ch.get("logprobs"); lp != nil && lp.kind != kindNull {
				ch.set("logprobs", &node{kind: kindNull})
			}
		}
		if p.Content != nil {
			msg.set("content", stringNode(*p.Content))
		}
		if p.FinishReason != nil {
			ch.set("finish_reason", stringNode(*p.FinishReason))
		}
		for _, tp := range p.Texts {
			if n := msg.at(tp.Text.segs); n.kindIs(kindString) {
				n.str = tp.Value
			}
		}
		if p.DropTexts {
			kept := msg.members[:0]
			for _, m := range msg.members {
				if unread(m.key, m.val) {
					kept = append(kept, m)
				}
			}
			msg.members = kept
		}
		for _, t := range p.Append {
			appendText(msg, t)
		}
	}
	for _, k := range sortedExtra(extra) {
		b, ok := extra[k].(json.RawMessage) // as given: Marshal would escape <, > and &
		if !ok {
			var err error
			if b, err = json.Marshal(extra[k]); err != nil {
				return nil, fmt.Errorf("encode %s: %w", k, err)
			}
		}
		root.set(k, &node{kind: kindRaw, str: string(b)})
		size += len(k) + len(b) + 4
	}
	return root.encode(make([]byte, 0, max(256, size+256))), nil
}

// appendText adds a held-back text to a message or delta.
func appendText(msg *node, t AnswerText) {
	if t.ToolCall >= 0 {
		calls := msg.get("tool_calls")
		if !calls.kindIs(kindArray) {
			calls = &node{kind: kindArray}
			msg.set("tool_calls", calls)
		}
		field := t.Field
		if field == "" {
			field = "arguments"
		}
		fn := &node{kind: kindObject, members: []member{{field, stringNode(t.Value)}}}
		calls.elems = append(calls.elems, &node{kind: kindObject, members: []member{
			{"index", &node{kind: kindNumber, str: strconv.Itoa(t.ToolCall)}}, {"function", fn}}})
		return
	}
	n := msg
	segs := t.segs
	for i, s := range segs {
		if i == len(segs)-1 {
			if cur := n.get(s); cur.kindIs(kindString) {
				cur.str += t.Value
			} else {
				n.set(s, stringNode(t.Value))
			}
			return
		}
		next := n.get(s)
		if !next.kindIs(kindObject) {
			next = &node{kind: kindObject}
			n.set(s, next)
		}
		n = next
	}
}

func sortedExtra(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
