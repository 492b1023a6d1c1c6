package openai

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// TextParts returns the message's text pieces in order: the string content
// as one piece, or each text part of an array content.
func (m Message) TextParts() []string {
	c := bytes.TrimSpace(m.Content)
	if len(c) == 0 || c[0] == 'n' {
		return nil
	}
	if c[0] == '"' {
		var s string
		_ = json.Unmarshal(c, &s)
		return []string{s}
	}
	var parts []ContentPart
	_ = json.Unmarshal(c, &parts)
	var out []string
	for _, p := range parts {
		if p.Type == "text" || p.Type == "input_text" {
			out = append(out, p.Text)
		}
	}
	return out
}

// WithTexts returns a copy of the request in which message i's text pieces
// (as TextParts lists them) are replaced by texts, in order. Every other
// byte of the body is kept.
func (r *ChatRequest) WithTexts(i int, texts []string) (*ChatRequest, error) {
	if i < 0 || i >= len(r.Messages) {
		return nil, fmt.Errorf("message %d out of range", i)
	}
	base := "messages." + strconv.Itoa(i) + ".content"
	body := append([]byte(nil), r.body...)
	content := gjson.GetBytes(body, base)
	var err error
	switch {
	case content.Type == gjson.String:
		if len(texts) != 1 {
			return nil, fmt.Errorf("string content takes one text, got %d", len(texts))
		}
		body, err = sjson.SetBytes(body, base, texts[0])
	case content.IsArray():
		n, pos := 0, -1
		content.ForEach(func(_, part gjson.Result) bool {
			pos++
			if typ := part.Get("type").String(); typ != "text" && typ != "input_text" {
				return true
			}
			if n >= len(texts) {
				err = fmt.Errorf("content has more text parts than the %d texts given", len(texts))
				return false
			}
			body, err = sjson.SetBytes(body, base+"."+strconv.Itoa(pos)+".text", texts[n])
			n++
			return err == nil
		})
		if err == nil && n != len(texts) {
			err = fmt.Errorf("content has %d text parts, %d texts given", n, len(texts))
		}
	default:
		err = fmt.Errorf("message %d has no text content", i)
	}
	if err != nil {
		return nil, err
	}
	out := *r
	out.body = body
	out.Messages = slices.Clone(r.Messages)
	out.Messages[i].Content = json.RawMessage(gjson.GetBytes(body, base).Raw)
	return &out, nil
}
