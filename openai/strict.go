package openai

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/firebreak/firebreak/clienterr"
)

// The gateway reviews one request and forwards another unless its parser
// and the model server's read the same bytes the same way. Model servers
// disagree on the corner cases: Python's json module keeps the last of two
// equal keys, Go's encoding/json matches field names without regard to
// case, pydantic matches them exactly. So request bodies are read with a
// parser that refuses every such corner instead of picking a reading:
//
//   - a key that appears twice in one object, compared after unescaping
//     ("content" and "\u0063ontent" are the same key), at any depth;
//   - in the objects of the OpenAI schema (the request, messages, content
//     parts, tool calls, tools …), two keys equal under Unicode case
//     folding, and a key that equals a known field under case folding
//     without being it ("CONTENT", "Role", "meſſages");
//   - an escape that encodes half of a UTF-16 surrogate pair;
//   - nesting deeper than maxDepth.
//
// What was parsed is then the only source of truth: the gateway reviews
// the tree and forwards the tree re-encoded (see encode), never the
// client's bytes.

// maxDepth bounds the nesting of a request body.
const maxDepth = 128

type kind uint8

const (
	kindNull kind = iota
	kindBool
	kindNumber
	kindString
	kindArray
	kindObject
	kindRaw // JSON the gateway made, encoded as it is
)

// node is one JSON value. Numbers and booleans keep their literal text in
// str; strings their decoded value.
type node struct {
	kind    kind
	str     string
	elems   []*node
	members []member
	// tokAt and tokEnd are where a string value's token (quotes included) is in
	// the parsed bytes, so that one string can be patched in place;
	// tokEnd is 0 for a node the parser did not read.
	tokAt, tokEnd int32
}

type member struct {
	key string
	val *node
}

// get returns the value of key in an object, or nil.
func (n *node) get(key string) *node {
	if n == nil || n.kind != kindObject {
		return nil
	}
	for _, m := range n.members {
		if m.key == key {
			return m.val
		}
	}
	return nil
}

// set replaces the value of key in an object, or appends the member.
func (n *node) set(key string, v *node) {
	for i, m := range n.members {
		if m.key == key {
			n.members[i].val = v
			return
		}
	}
	n.members = append(n.members, member{key, v})
}

func (n *node) del(key string) {
	for i, m := range n.members {
		if m.key == key {
			n.members = append(n.members[:i], n.members[i+1:]...)
			return
		}
	}
}

func stringNode(s string) *node { return &node{kind: kindString, str: s} }

// knownFields are the field names of the OpenAI chat and embeddings
// requests and of the extensions vLLM, SGLang and Ollama read, at every
// level of their schema. In an object of the schema a key that matches one
// of them only under case folding is refused.
var knownFields = foldSet(
	// request
	"model", "messages", "stream", "stream_options", "include_usage", "continuous_usage_stats", "n", "user",
	"tools", "tool_choice", "functions", "function_call", "response_format", "json_schema", "schema", "strict",
	"temperature", "top_p", "top_k", "min_p", "max_tokens", "max_completion_tokens", "stop", "seed",
	"logprobs", "top_logprobs", "presence_penalty", "frequency_penalty", "repetition_penalty", "logit_bias",
	"metadata", "parallel_tool_calls", "store", "service_tier", "reasoning_effort", "modalities", "audio",
	"voice", "prediction", "web_search_options", "prompt_cache_key", "safety_identifier", "verbosity",
	"chat_template", "chat_template_kwargs", "add_generation_prompt", "continue_final_message", "documents",
	"echo", "guided_json", "guided_regex", "guided_choice", "guided_grammar", "min_tokens", "stop_token_ids",
	"skip_special_tokens", "ignore_eos", "input", "dimensions", "encoding_format", "options", "think", "format",
	// messages
	"role", "content", "name", "tool_calls", "tool_call_id", "refusal", "reasoning_content", "reasoning",
	"thinking", "images",
	// content parts
	"type", "text", "image_url", "url", "detail", "input_audio", "data", "file", "file_data", "file_id",
	"filename", "video_url",
	// tool calls and tools
	"id", "index", "function", "arguments", "description", "parameters",
	// answers: completions and chunks
	"object", "created", "choices", "message", "delta", "finish_reason", "system_fingerprint", "usage",
	"prompt_tokens", "completion_tokens", "total_tokens", "error", "code", "param", "annotations", "transcript",
)

// fieldIndex holds knownFields' names by length and first letter: isField
// finds one among the one to three of its bucket without folding or
// hashing the key, which the parser does for every key of every request,
// answer and stream chunk.
var fieldIndex = func() (idx [32][26][]string) {
	for _, f := range knownFields {
		// isField relies on every name folding to itself.
		if !lowerASCII(f) || len(f) >= len(idx) || f[0] < 'a' || f[0] > 'z' {
			panic("openai: field name " + f + " is not short lower-case ASCII")
		}
		idx[len(f)][f[0]-'a'] = append(idx[len(f)][f[0]-'a'], f)
	}
	return idx
}()

// isField says key is one of knownFields' names as spelt there: what
// knownFields[foldKey(key)] == key says.
func isField(key string) bool {
	if len(key) == 0 || len(key) >= len(fieldIndex) || key[0] < 'a' || key[0] > 'z' {
		return false
	}
	for _, f := range fieldIndex[len(key)][key[0]-'a'] {
		if f == key {
			return true
		}
	}
	return false
}

// foldsToField says key matches one of knownFields' names under case
// folding: what knownFields[foldKey(key)] finds. A key in lower-case ASCII
// folds to itself, so it matches only as spelt.
func foldsToField(key string) (string, bool) {
	if lowerASCII(key) {
		return key, isField(key)
	}
	f, ok := knownFields[foldKey(key)]
	return f, ok
}

// lowerASCII says s is ASCII without capitals: foldKey(s) is s.
func lowerASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || 'A' <= c && c <= 'Z' {
			return false
		}
	}
	return true
}

// isFreeForm says a field holds an object whose keys are the client's own
// (a JSON schema's property names, metadata): the schema's case rules stop
// there.
func isFreeForm(key string) bool {
	switch key {
	case "parameters", "schema", "metadata", "logit_bias", "chat_template_kwargs", "documents", "guided_json", "options":
		return true
	}
	return false
}

func foldSet(names ...string) map[string]string {
	m := make(map[string]string, len(names))
	for _, n := range names {
		m[foldKey(n)] = n
	}
	return m
}

// foldKey maps s to one representative of its Unicode simple case-folding
// class, so that foldKey(a) == foldKey(b) exactly when strings.EqualFold(a, b):
// each rune becomes the least rune of its class, and an ASCII capital that
// this gives becomes lower case again. An ASCII key in lower case comes
// back as it is, without allocating.
func foldKey(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	var b strings.Builder
	for _, r := range s {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		if least >= 'A' && least <= 'Z' {
			least += 'a' - 'A'
		}
		b.WriteRune(least)
	}
	return b.String()
}

// parser reads one JSON value strictly. Errors carry the path of the value
// where they occurred.
type parser struct {
	what string // "request body", "chunk" … for messages
	data []byte
	src  string // data as one string: keys, strings without escapes and numbers are slices of it
	pos  int
	path []pathSeg // where the parser is, rendered only for an error
	slab []node    // nodes are allocated from here, many at a time
	err  *clienterr.Error

	// The members and elements of the objects and arrays being read are
	// gathered on stacks, then copied to slices of their exact length cut
	// from slabs: one allocation for many objects instead of a growing
	// slice each.
	mstack []member
	estack []*node
	mslab  []member
	eslab  []*node
}

// parseStrict parses body, which must be one JSON object. Failures are
// *clienterr.Error values naming the offending key or byte.
func parseStrict(body []byte) (*node, error) { return parseStrictAs(body, "request body") }

func parseStrictAs(body []byte, what string) (*node, error) {
	p := newParser(what, body)
	defer p.free()
	return p.parse()
}

// parse reads the parser's input, which must be one JSON object.
func (p *parser) parse() (*node, error) {
	p.space()
	if p.pos < len(p.data) && p.data[p.pos] != '{' {
		return nil, clienterr.Errorf(clienterr.InvalidJSON, "%s is not a valid JSON object: expected an object at the top level", p.what)
	}
	n := p.value(0, true)
	if p.err == nil {
		p.space()
		if p.pos < len(p.data) {
			p.syntax("data after the top-level object")
		}
	}
	if p.err != nil {
		return nil, p.err
	}
	return n, nil
}

// parsers keeps the parsers' stacks between parses; the slabs, which the
// parsed trees hold, are never reused.
var parsers = sync.Pool{New: func() any { return new(parser) }}

// slabMax bounds the first slabs a parser sizes from its input.
const slabMax = 1024

func newParser(what string, data []byte) *parser {
	p := parsers.Get().(*parser)
	p.what, p.data, p.src = what, data, string(data)
	nodes, members, elems := slabSizes(data)
	p.slab = make([]node, 0, nodes)
	p.mslab = make([]member, 0, members)
	p.eslab = make([]*node, 0, elems)
	return p
}

// slabSizes sizes the first slabs from the input (its bytes inside
// strings count too, so these are upper bounds): a member per ':'; a ','
// separates two members or two elements, so the nodes (one per member,
// element and the root) are at most the commas plus one per object or
// array plus one, and the elements those nodes less the members.
func slabSizes(data []byte) (nodes, members, elems int) {
	colons, commas := bytes.Count(data, []byte{':'}), bytes.Count(data, []byte{','})
	n := commas + bytes.Count(data, []byte{'{'}) + bytes.Count(data, []byte{'['}) + 1
	return min(n, slabMax), min(colons, slabMax), min(max(n-colons, 1), slabMax)
}

// reuse readies a parser that one caller owns (ChunkParser) for its next
// input: the slabs of the last parse are written over, so its tree is no
// longer valid. Strings are still slices of a copy of each input, so they
// outlive the tree.
func (p *parser) reuse(what string, data []byte) {
	nodes, members, elems := slabSizes(data)
	*p = parser{what: what, data: data, src: string(data),
		path: p.path[:0], mstack: p.mstack[:0], estack: p.estack[:0],
		slab: reslab(p.slab, nodes), mslab: reslab(p.mslab, members), eslab: reslab(p.eslab, elems)}
}

// reslab empties a slab for reuse, or makes one when it holds fewer than n.
func reslab[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, 0, n)
	}
	return s[:0]
}

// free returns p to the pool, holding nothing of the parse.
func (p *parser) free() {
	clear(p.mstack[:cap(p.mstack)])
	clear(p.estack[:cap(p.estack)])
	clear(p.path[:cap(p.path)])
	*p = parser{mstack: p.mstack[:0], estack: p.estack[:0], path: p.path[:0]}
	parsers.Put(p)
}

// pathSeg is a key, or an array position when key is "" and idx >= 0.
type pathSeg struct {
	key string
	idx int
}

func (p *parser) where() string {
	var b strings.Builder
	for _, s := range p.path {
		if s.idx >= 0 {
			b.WriteString("[" + strconv.Itoa(s.idx) + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.key)
	}
	return b.String()
}

// node returns a new node from the parser's slab.
func (p *parser) node(k kind, str string) *node {
	if len(p.slab) == cap(p.slab) {
		p.slab = make([]node, 0, 32)
	}
	p.slab = append(p.slab, node{kind: k, str: str})
	return &p.slab[len(p.slab)-1]
}

func (p *parser) syntax(what string) {
	if p.err == nil {
		p.err = clienterr.Errorf(clienterr.InvalidJSON, "%s is not a valid JSON object: %s at byte %d", p.what, what, p.pos)
	}
}

// keyError refuses a key, naming it and where it is.
func (p *parser) keyError(key, format string, args ...any) {
	if p.err != nil {
		return
	}
	at := p.where()
	in := ""
	if at != "" {
		in = " in " + at
	}
	param := key
	if at != "" {
		param = at + "." + key
	}
	p.err = &clienterr.Error{Code: clienterr.InvalidRequest, Param: param,
		Message: "key " + strconv.Quote(key) + in + ": " + fmt.Sprintf(format, args...)}
}

func (p *parser) space() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// value parses the value at pos; schema says it is part of the OpenAI
// schema, where the case rules apply.
func (p *parser) value(depth int, schema bool) *node {
	if depth > maxDepth {
		if p.err == nil {
			p.err = clienterr.Errorf(clienterr.InvalidJSON, "%s is not a valid JSON object: nesting is too deep", p.what)
		}
		return nil
	}
	p.space()
	if p.pos >= len(p.data) {
		p.syntax("unexpected end")
		return nil
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object(depth, schema)
	case c == '[':
		return p.array(depth, schema)
	case c == '"':
		at := p.pos
		s, ok := p.string()
		if !ok {
			return nil
		}
		n := p.node(kindString, s)
		n.tokAt, n.tokEnd = int32(at), int32(p.pos)
		return n
	case c == 't':
		return p.literal("true", kindBool)
	case c == 'f':
		return p.literal("false", kindBool)
	case c == 'n':
		return p.literal("null", kindNull)
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	}
	p.syntax("unexpected character")
	return nil
}

func (p *parser) literal(lit string, k kind) *node {
	if !strings.HasPrefix(p.src[p.pos:], lit) {
		p.syntax("invalid literal")
		return nil
	}
	p.pos += len(lit)
	return p.node(k, lit)
}

func (p *parser) number() *node {
	start := p.pos
	d := p.data
	if p.pos < len(d) && d[p.pos] == '-' {
		p.pos++
	}
	digits := func() int {
		n := 0
		for p.pos < len(d) && d[p.pos] >= '0' && d[p.pos] <= '9' {
			p.pos++
			n++
		}
		return n
	}
	switch {
	case p.pos < len(d) && d[p.pos] == '0':
		p.pos++
	case digits() == 0:
		p.syntax("invalid number")
		return nil
	}
	if p.pos < len(d) && d[p.pos] == '.' {
		p.pos++
		if digits() == 0 {
			p.syntax("invalid number")
			return nil
		}
	}
	if p.pos < len(d) && (d[p.pos] == 'e' || d[p.pos] == 'E') {
		p.pos++
		if p.pos < len(d) && (d[p.pos] == '+' || d[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			p.syntax("invalid number")
			return nil
		}
	}
	return p.node(kindNumber, p.src[start:p.pos])
}

func (p *parser) array(depth int, schema bool) *node {
	p.pos++ // [
	n := p.node(kindArray, "")
	p.space()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return n
	}
	base := len(p.estack)
	defer func() { p.estack = p.estack[:base] }()
	for {
		p.path = append(p.path, pathSeg{idx: len(p.estack) - base})
		v := p.value(depth+1, schema)
		p.path = p.path[:len(p.path)-1]
		if p.err != nil {
			return nil
		}
		p.estack = append(p.estack, v)
		if more, ok := p.next(']'); !more {
			n.elems = p.elems(p.estack[base:])
			return ifOK(n, ok)
		}
	}
}

// elems returns a copy of es cut from the parser's slab, its capacity its
// length (an append copies it out).
func (p *parser) elems(es []*node) []*node {
	k := len(es)
	if cap(p.eslab)-len(p.eslab) < k {
		p.eslab = make([]*node, 0, max(32, k))
	}
	l := len(p.eslab)
	p.eslab = append(p.eslab, es...)
	return p.eslab[l : l+k : l+k]
}

// members is elems for the members of an object.
func (p *parser) members(ms []member) []member {
	k := len(ms)
	if cap(p.mslab)-len(p.mslab) < k {
		p.mslab = make([]member, 0, max(32, k))
	}
	l := len(p.mslab)
	p.mslab = append(p.mslab, ms...)
	return p.mslab[l : l+k : l+k]
}

// next reads the separator after a member or element: true for ',', false
// for the closing byte; ok is false on a syntax error.
func (p *parser) next(closing byte) (more, ok bool) {
	p.space()
	switch {
	case p.pos >= len(p.data):
		p.syntax("unexpected end")
	case p.data[p.pos] == ',':
		p.pos++
		return true, true
	case p.data[p.pos] == closing:
		p.pos++
		return false, true
	default:
		p.syntax("expected ',' or '" + string(closing) + "'")
	}
	return false, false
}

func ifOK(n *node, ok bool) *node {
	if !ok {
		return nil
	}
	return n
}

func (p *parser) object(depth int, schema bool) *node {
	p.pos++ // {
	n := p.node(kindObject, "")
	p.space()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return n
	}
	base := len(p.mstack)
	defer func() { p.mstack = p.mstack[:base] }()
	lower := true // every key so far is lower-case ASCII
	for {
		p.space()
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			p.syntax("expected a key")
			return nil
		}
		key, ok := p.string()
		if !ok {
			return nil
		}
		known := schema && isField(key)
		keyLower := known || lowerASCII(key)
		if !p.checkKey(p.mstack[base:], key, schema, known, lower && keyLower) {
			return nil
		}
		lower = lower && keyLower
		p.space()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			p.syntax("expected ':'")
			return nil
		}
		p.pos++
		p.path = append(p.path, pathSeg{key: key, idx: -1})
		v := p.value(depth+1, known && !isFreeForm(key))
		p.path = p.path[:len(p.path)-1]
		if p.err != nil {
			return nil
		}
		p.mstack = append(p.mstack, member{key, v})
		if more, ok := p.next('}'); !more {
			n.members = p.members(p.mstack[base:])
			return ifOK(n, ok)
		}
	}
}

// checkKey applies the UTF-8, duplicate and case rules to a new key of an
// object whose members so far are members; known says the key is a field
// of the schema as it is spelt there, lower that it and all the members'
// keys are lower-case ASCII (two such keys differ in case only if equal).
func (p *parser) checkKey(members []member, key string, schema, known, lower bool) bool {
	if !utf8.ValidString(key) {
		// Two such keys encode alike (U+FFFD): the answer relayed would
		// repeat a key.
		p.keyError(strings.ToValidUTF8(key, "\uFFFD"), "is not UTF-8")
		return false
	}
	for _, m := range members {
		if m.key == key {
			p.keyError(key, "appears twice; each key may appear once")
			return false
		}
	}
	if !schema {
		return true
	}
	if !known {
		if field, ok := foldsToField(key); ok {
			p.keyError(key, "differs from the field %q only in case; write %q", field, field)
			return false
		}
	}
	if lower {
		return true
	}
	for _, m := range members {
		if strings.EqualFold(m.key, key) {
			p.keyError(key, "differs from the key %q only in case; send one of them", m.key)
			return false
		}
	}
	return true
}

// string reads a JSON string at pos and returns its decoded value.
func (p *parser) string() (string, bool) {
	p.pos++ // opening quote
	start := p.pos
	d := p.data
	// Fast path: no escapes.
	for p.pos < len(d) {
		c := d[p.pos]
		if c == '"' {
			s := p.src[start:p.pos]
			p.pos++
			return s, true
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			p.syntax("control character in a string")
			return "", false
		}
		p.pos++
	}
	var b strings.Builder
	b.Write(d[start:p.pos])
	for p.pos < len(d) {
		c := d[p.pos]
		switch {
		case c == '"':
			p.pos++
			return b.String(), true
		case c < 0x20:
			p.syntax("control character in a string")
			return "", false
		case c != '\\':
			b.WriteByte(c)
			p.pos++
			continue
		}
		if p.pos+1 >= len(d) {
			break
		}
		esc := d[p.pos+1]
		p.pos += 2
		switch esc {
		case '"', '\\', '/':
			b.WriteByte(esc)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", false
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if p.pos+1 < len(d) && d[p.pos] == '\\' && d[p.pos+1] == 'u' {
					p.pos += 2
					if r2, ok = p.hex4(); !ok {
						return "", false
					}
				}
				if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
					p.pos -= 6
					p.syntax("\\u escape of an unpaired UTF-16 surrogate")
					return "", false
				}
			}
			b.WriteRune(r)
		default:
			p.pos -= 2
			p.syntax("invalid escape")
			return "", false
		}
	}
	p.syntax("unterminated string")
	return "", false
}

func (p *parser) hex4() (rune, bool) {
	if p.pos+4 > len(p.data) {
		p.syntax("invalid \\u escape")
		return 0, false
	}
	v, err := strconv.ParseUint(string(p.data[p.pos:p.pos+4]), 16, 32)
	if err != nil {
		p.syntax("invalid \\u escape")
		return 0, false
	}
	p.pos += 4
	return rune(v), true
}

// encode appends the JSON encoding of n: compact, keys in their order,
// strings escaped minimally (no HTML escaping), numbers as received.
func (n *node) encode(b []byte) []byte {
	switch n.kind {
	case kindNull:
		return append(b, "null"...)
	case kindBool, kindNumber, kindRaw:
		return append(b, n.str...)
	case kindString:
		return appendString(b, n.str)
	case kindArray:
		b = append(b, '[')
		for i, e := range n.elems {
			if i > 0 {
				b = append(b, ',')
			}
			b = e.encode(b)
		}
		return append(b, ']')
	}
	b = append(b, '{')
	for i, m := range n.members {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, m.key)
		b = append(b, ':')
		b = m.val.encode(b)
	}
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. s is valid UTF-8 (it was parsed
// from valid UTF-8 or set by the gateway); invalid bytes would be replaced.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, s[start:i]...)
				b = append(b, `\ufffd`...)
				i++
				start = i
				continue
			}
			i += size
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
