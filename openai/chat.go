package openai

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/firebreak/firebreak/clienterr"
)

// ChatRequest is a chat completion request as the gateway read it. The
// parsed body is the only copy the gateway keeps: review reads its texts,
// masks change them in place, and Encode writes the body that goes
// upstream from it, every field the gateway does not know included.
type ChatRequest struct {
	Model         string
	Messages      []Message
	Stream        bool
	StreamOptions *StreamOptions
	User          string
	N             *int
	// Tools are the texts of the tool definitions (tools, functions,
	// tool_choice): names, descriptions, parameter schemas with their
	// property names. Chat templates render them into the prompt.
	Tools []*Text
	// Fields are the texts of every other top-level field that is not
	// known to stay out of the prompt (documents, chat_template_kwargs,
	// response_format, fields this gateway does not know …).
	Fields []*Text
	// Media are the places of the request that hold media no review
	// reads: an image, a recording, a video or a file, by reference or
	// inline, e.g. "messages[0].content[1].image_url.url", and
	// "modalities" when the answer is asked for as audio too.
	Media []string

	root *node
	size int // of the body parsed: Encode's first guess at its own length
}

// StreamOptions is the request's stream_options object.
type StreamOptions struct {
	IncludeUsage bool
}

// Message is one chat message: its role and every text of it a model may
// read, in the order of the body (content parts, name, tool-call names
// and arguments, reasoning, fields this gateway does not know). Role,
// ids, part types and the media of a media part are not texts.
type Message struct {
	Role  string
	Texts []*Text
	// Apart are the strings of the message that are not its running text
	// but that a chat template may still render: identifiers (a tool
	// call's id, a part's type or format) and the keys of its objects
	// other than the API's field names (a tool call's arguments given as
	// an object). Review reads each on its own.
	Apart []*Text
}

// Text is one string of the request that a model may read.
type Text struct {
	// Field says where it is, e.g. "messages[2].content[1].text".
	Field string
	p     *string
}

// Value is the text as it stands (after any Set).
func (t *Text) Value() string { return *t.p }

// Set replaces the text in the request that goes upstream.
func (t *Text) Set(s string) { *t.p = s }

// Text returns the message's texts joined by newlines, as a model server
// joins the text parts of one message.
func (m Message) Text() string {
	switch len(m.Texts) {
	case 0:
		return ""
	case 1:
		return m.Texts[0].Value()
	}
	parts := make([]string, len(m.Texts))
	for i, t := range m.Texts {
		parts[i] = t.Value()
	}
	return strings.Join(parts, "\n")
}

// Roles of the OpenAI chat API.
const (
	RoleSystem    = "system"
	RoleDeveloper = "developer"
	RoleUser      = "user"
	RoleAssistant = "assistant"
	RoleTool      = "tool"
	RoleFunction  = "function"
)

// identifiers are the keys of a message whose values are names, not
// running text: ids, content part types, formats. A template may still
// render them, so they are reviewed apart.
var identifiers = map[string]bool{
	"id": true, "tool_call_id": true, "type": true, "index": true, "detail": true, "format": true,
}

// mediaParts are the content part types that carry media: the part of
// type T holds an object under the key T whose media members (mediaKeys)
// no model reads as text. The same keys anywhere else are text like any
// other: a tool call's arguments {"url": "…"} reach the prompt.
var mediaParts = map[string]bool{
	"image_url": true, "input_audio": true, "file": true, // OpenAI
	"video_url": true, "audio_url": true, // vLLM
}

// mediaKeys are the members of a media part's object that hold the
// media, by reference or inline.
var mediaKeys = map[string]bool{"url": true, "data": true, "file_data": true, "file_id": true}

// notPrompt are the top-level fields that no server renders into the
// prompt. Every other top-level string is reviewed.
var notPrompt = map[string]bool{
	"model": true, "messages": true, "user": true, "stream": true, "stream_options": true, "n": true,
	"stop": true, "metadata": true, "logit_bias": true, "service_tier": true, "prompt_cache_key": true,
	"safety_identifier": true, "reasoning_effort": true, "modalities": true, "audio": true, "seed": true,
	"verbosity": true, "encoding_format": true,
}

// toolFields are the top-level fields that define tools.
var toolFields = map[string]bool{"tools": true, "functions": true, "tool_choice": true}

// ParseChatRequest reads and validates a chat completion request body.
// Every failure is an *clienterr.Error with a message that tells the client what to
// fix; a body that different JSON parsers could read differently (a
// duplicate key, a known field in another case …) is one of them.
func ParseChatRequest(body []byte) (*ChatRequest, error) {
	root, err := parseBody(body)
	if err != nil {
		return nil, err
	}
	r := &ChatRequest{root: root, size: len(body)}
	if err := r.read(); err != nil {
		return nil, err
	}
	return r, nil
}

// parseBody checks that body is one valid UTF-8 JSON object and parses it
// strictly.
func parseBody(body []byte) (*node, error) {
	trimmed := strings.TrimSpace(string(body))
	switch {
	case trimmed == "":
		return nil, clienterr.Errorf(clienterr.InvalidJSON, "request body is empty: send a JSON object")
	case !utf8.Valid(body):
		return nil, clienterr.Errorf(clienterr.InvalidJSON, "request body is not valid UTF-8")
	case trimmed == "null":
		return nil, clienterr.Errorf(clienterr.InvalidJSON, "request body must be a JSON object, not null")
	}
	return parseStrict(body)
}

func (r *ChatRequest) read() error {
	var err error
	if r.Model, err = optString(r.root, "model"); err != nil {
		return err
	}
	if r.User, err = optString(r.root, "user"); err != nil {
		return err
	}
	if r.Stream, err = optBool(r.root, "stream", ""); err != nil {
		return err
	}
	if so := r.root.get("stream_options"); so != nil && so.kind != kindNull {
		if so.kind != kindObject {
			return typeError("stream_options", "", so)
		}
		r.StreamOptions = &StreamOptions{}
		if r.StreamOptions.IncludeUsage, err = optBool(so, "include_usage", "stream_options."); err != nil {
			return err
		}
	}
	if n := r.root.get("n"); n != nil && n.kind != kindNull {
		v, perr := strconv.Atoi(n.str)
		if n.kind != kindNumber || perr != nil {
			return typeError("n", "", n)
		}
		if v < 1 || v > 128 {
			return &clienterr.Error{Code: clienterr.InvalidRequest, Param: "n", Message: "'n' must be between 1 and 128"}
		}
		r.N = &v
	}
	if t := r.root.get("chat_template"); t != nil && t.kind != kindNull {
		return &clienterr.Error{Code: clienterr.InvalidRequest, Param: "chat_template",
			Message: "'chat_template' is not accepted: a template sent with the request writes a prompt that review cannot read; the model server's own template applies"}
	}
	if err := r.readMessages(); err != nil {
		return err
	}
	if mod := r.root.get("modalities"); mod != nil && mod.kind == kindArray {
		for _, e := range mod.elems {
			if e.kind != kindString || e.str != "text" {
				r.Media = append(r.Media, "modalities") // an answer spoken, not written
				break
			}
		}
	}
	for _, m := range r.root.members {
		switch {
		case notPrompt[m.key]:
		case toolFields[m.key]:
			collect(m.val, m.key, &r.Tools)
		default:
			collect(m.val, m.key, &r.Fields)
		}
	}
	return nil
}

func (r *ChatRequest) readMessages() error {
	msgs := r.root.get("messages")
	switch {
	case msgs == nil || msgs.kind == kindNull:
		return &clienterr.Error{Code: clienterr.InvalidRequest, Param: "messages", Message: "missing required parameter: 'messages'"}
	case msgs.kind != kindArray:
		return typeError("messages", "", msgs)
	case len(msgs.elems) == 0:
		return &clienterr.Error{Code: clienterr.InvalidRequest, Param: "messages", Message: "'messages' must contain at least one message"}
	}
	r.Messages = make([]Message, len(msgs.elems))
	for i, mn := range msgs.elems {
		at := "messages[" + strconv.Itoa(i) + "]"
		if mn.kind != kindObject {
			return &clienterr.Error{Code: clienterr.InvalidRequest, Param: at, Message: at + ": each message must be an object"}
		}
		role := mn.get("role")
		switch {
		case role == nil || role.kind == kindNull:
			return &clienterr.Error{Code: clienterr.InvalidRequest, Param: at + ".role", Message: at + ": missing required field 'role'"}
		case role.kind != kindString || role.str == "":
			return &clienterr.Error{Code: clienterr.InvalidRequest, Param: at + ".role", Message: at + ".role: must be a non-empty string"}
		}
		if err := validateContent(at, mn.get("content")); err != nil {
			return err
		}
		m := Message{Role: role.str}
		for j := range mn.members {
			switch mm := &mn.members[j]; {
			case mm.key == "role": // one of the roles the policy accepts
			case mm.key == "content" && mm.val.kind == kindArray:
				for k, part := range mm.val.elems {
					r.Media = m.collectPart(part, at+".content["+strconv.Itoa(k)+"]", r.Media)
				}
			default:
				m.collectMember(mm, at)
			}
		}
		r.Messages[i] = m
	}
	return nil
}

func validateContent(at string, c *node) error {
	if c == nil || c.kind == kindNull || c.kind == kindString {
		return nil
	}
	bad := func(msg string) error {
		return &clienterr.Error{Code: clienterr.InvalidRequest, Param: at + ".content", Message: at + ".content: " + msg}
	}
	if c.kind != kindArray {
		return bad("must be a string or an array of content parts")
	}
	for _, p := range c.elems {
		if p.kind != kindObject {
			return bad("each content part must be an object with a 'type'")
		}
		if t := p.get("type"); t == nil || t.kind != kindString || t.str == "" {
			return bad("each content part must have a 'type'")
		}
	}
	return nil
}

// collectMember appends the strings of an object's member to the
// message: its key to Apart unless it is a field name of the API, an
// identifier's strings to Apart, any other string to Texts in order.
func (m *Message) collectMember(mm *member, field string) {
	at := field + "." + mm.key
	switch {
	case identifiers[mm.key]:
		collect(mm.val, at, &m.Apart)
		return
	}
	if !isField(mm.key) {
		m.Apart = append(m.Apart, &Text{Field: at + "(key)", p: &mm.key})
	}
	m.collect(mm.val, at)
}

// collectPart appends the strings of one content part (an object with a
// type, see validateContent) to the message and returns media with the
// places of the part's media added: in a part of a media type T, the
// media members of its object T.
func (m *Message) collectPart(part *node, field string, media []string) []string {
	typ := part.get("type").str
	for i := range part.members {
		mm := &part.members[i]
		if mm.key != typ || !mediaParts[typ] || mm.val.kind != kindObject {
			m.collectMember(mm, field)
			continue
		}
		at := field + "." + mm.key
		for j := range mm.val.members {
			if mv := &mm.val.members[j]; mediaKeys[mv.key] && mv.val.kind == kindString {
				if mv.val.str != "" {
					media = append(media, at+"."+mv.key)
				}
			} else {
				m.collectMember(mv, at)
			}
		}
	}
	return media
}

func (m *Message) collect(n *node, field string) {
	switch n.kind {
	case kindString:
		m.Texts = append(m.Texts, &Text{Field: field, p: &n.str})
	case kindArray:
		for i, e := range n.elems {
			m.collect(e, field+"["+strconv.Itoa(i)+"]")
		}
	case kindObject:
		for i := range n.members {
			m.collectMember(&n.members[i], field)
		}
	}
}

// collect appends the strings under n, in order, and the keys of its
// objects other than the API's field names (the property names of a
// tool's parameters or of a response schema reach the prompt).
func collect(n *node, field string, out *[]*Text) {
	switch n.kind {
	case kindString:
		*out = append(*out, &Text{Field: field, p: &n.str})
	case kindArray:
		for i, e := range n.elems {
			collect(e, field+"["+strconv.Itoa(i)+"]", out)
		}
	case kindObject:
		for i := range n.members {
			m := &n.members[i]
			if !isField(m.key) {
				*out = append(*out, &Text{Field: field + "." + m.key + "(key)", p: &m.key})
			}
			collect(m.val, field+"."+m.key, out)
		}
	}
}

func optString(obj *node, key string) (string, error) {
	v := obj.get(key)
	switch {
	case v == nil || v.kind == kindNull:
		return "", nil
	case v.kind != kindString:
		return "", typeError(key, "", v)
	}
	return v.str, nil
}

func optBool(obj *node, key, prefix string) (bool, error) {
	v := obj.get(key)
	switch {
	case v == nil || v.kind == kindNull:
		return false, nil
	case v.kind != kindBool:
		return false, typeError(key, prefix, v)
	}
	return v.str == "true", nil
}

func typeError(key, prefix string, v *node) error {
	name := prefix + key
	param := key
	if prefix != "" {
		param = strings.TrimSuffix(strings.SplitN(prefix, ".", 2)[0], ".")
	}
	return &clienterr.Error{Code: clienterr.InvalidRequest, Param: param, Message: "invalid type for '" + name + "': got " + kindName(v.kind)}
}

func kindName(k kind) string {
	switch k {
	case kindBool:
		return "boolean"
	case kindNumber:
		return "number"
	case kindString:
		return "string"
	case kindArray:
		return "array"
	case kindObject:
		return "object"
	}
	return "null"
}

// JSONMode reports whether the request asks for JSON output, so that the
// client parses the answer's content: OpenAI's response_format
// json_object or json_schema, vLLM's guided_json or structured_outputs
// json, Ollama's format "json" or a schema.
func (r *ChatRequest) JSONMode() bool {
	if t := r.root.get("response_format").get("type"); t != nil && t.kind == kindString &&
		(t.str == "json_object" || t.str == "json_schema") {
		return true
	}
	present := func(n *node) bool { return n != nil && n.kind != kindNull }
	f := r.root.get("format")
	return present(r.root.get("guided_json")) || present(r.root.get("structured_outputs").get("json")) ||
		f != nil && (f.kind == kindObject || f.kind == kindString && f.str == "json")
}

// LatestUserText returns the text of the last message with role "user".
func (r *ChatRequest) LatestUserText() string {
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if r.Messages[i].Role == RoleUser {
			return r.Messages[i].Text()
		}
	}
	return ""
}

// Encode returns the request body for an upstream: what was parsed, with
// the texts as review left them, model replaced and, for streams, usage
// requested so the gateway can count tokens.
func (r *ChatRequest) Encode(model string) ([]byte, error) {
	root := withMember(r.root, "model", stringNode(model))
	if r.Stream {
		so := r.root.get("stream_options")
		usage := &node{kind: kindObject}
		if so != nil && so.kind == kindObject {
			usage.members = append(usage.members, so.members...)
		}
		usage.set("include_usage", &node{kind: kindBool, str: "true"})
		root = withMember(root, "stream_options", usage)
	}
	// Room for the body as parsed, the model's name and stream_options:
	// one allocation where growing from a fixed guess took two or three.
	return root.encode(make([]byte, 0, max(512, r.size+len(model)+64))), nil
}

// withMember returns a copy of object n (its member list copied, the
// values shared) with key set to v.
func withMember(n *node, key string, v *node) *node {
	out := &node{kind: kindObject, members: make([]member, len(n.members), len(n.members)+1)}
	copy(out.members, n.members)
	out.set(key, v)
	return out
}
