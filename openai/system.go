package openai

// PrependSystem puts text before everything else the model reads: at the
// start of the first message when it is a system message with text
// content (chat templates expect one system message, first), otherwise as
// a new system message before the others.
func (r *ChatRequest) PrependSystem(text string) {
	msgs := r.root.get("messages")
	if msgs == nil || msgs.kind != kindArray {
		return
	}
	if len(msgs.elems) > 0 && len(r.Messages) > 0 && r.Messages[0].Role == RoleSystem {
		if c := msgs.elems[0].get("content"); c != nil && c.kind == kindString {
			c.str = text + "\n\n" + c.str
			return
		}
	}
	content := stringNode(text)
	sys := &node{kind: kindObject, members: []member{{key: "role", val: stringNode(RoleSystem)}, {key: "content", val: content}}}
	msgs.elems = append([]*node{sys}, msgs.elems...)
	r.Messages = append([]Message{{Role: RoleSystem, Texts: []*Text{{Field: "messages[0].content", p: &content.str}}}}, r.Messages...)
}
