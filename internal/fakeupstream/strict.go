package fakeupstream

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
)

// ModelView is what a model reads of a chat request: for every message its
// role and texts, and the tool definitions. Tests compare the views two
// kinds of server take of the same bytes.
type ModelView struct {
	Messages []ViewMessage
	Tools    []string // name and description of each tool
}

// ViewMessage is one message as a model reads it: its role, and its texts
// in the order a chat template renders them (name, content or the text of
// each content part, then each tool call's name and arguments).
type ViewMessage struct {
	Role  string
	Texts []string
}

// Strict reads the body the way a Python server with pydantic models
// does, made strict: keys are matched exactly, and a key that appears
// twice in one object is an error (Python's json module would keep the
// last one silently). It is written apart from the gateway's parser, on
// encoding/json's tokenizer, so that the two do not share a mistake.
func (r Request) Strict() (ModelView, error) {
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.UseNumber()
	v, err := strictValue(dec)
	if err != nil {
		return ModelView{}, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return ModelView{}, errors.New("data after the top-level value")
	}
	root, ok := v.(map[string]any)
	if !ok {
		return ModelView{}, errors.New("not an object")
	}
	return viewOf(root), nil
}

func strictValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		obj := map[string]any{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			key := k.(string)
			if _, dup := obj[key]; dup {
				return nil, fmt.Errorf("duplicate key %q", key)
			}
			if obj[key], err = strictValue(dec); err != nil {
				return nil, err
			}
		}
		_, err := dec.Token()
		return obj, err
	case json.Delim('['):
		var arr []any
		for dec.More() {
			v, err := strictValue(dec)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		_, err := dec.Token()
		return arr, err
	}
	return tok, nil
}

func viewOf(root map[string]any) ModelView {
	var v ModelView
	msgs, _ := root["messages"].([]any)
	for _, m := range msgs {
		obj, _ := m.(map[string]any)
		vm := ViewMessage{}
		vm.Role, _ = obj["role"].(string)
		if s, ok := obj["name"].(string); ok {
			vm.Texts = append(vm.Texts, s)
		}
		switch c := obj["content"].(type) {
		case string:
			vm.Texts = append(vm.Texts, c)
		case []any:
			for _, p := range c {
				if po, ok := p.(map[string]any); ok {
					if s, ok := po["text"].(string); ok {
						vm.Texts = append(vm.Texts, s)
					}
				}
			}
		}
		calls, _ := obj["tool_calls"].([]any)
		for _, tc := range calls {
			fn, _ := tc.(map[string]any)["function"].(map[string]any)
			for _, k := range []string{"name", "arguments"} {
				if s, ok := fn[k].(string); ok {
					vm.Texts = append(vm.Texts, s)
				}
			}
		}
		v.Messages = append(v.Messages, vm)
	}
	tools, _ := root["tools"].([]any)
	for _, t := range tools {
		fn, _ := t.(map[string]any)["function"].(map[string]any)
		for _, k := range []string{"name", "description"} {
			if s, ok := fn[k].(string); ok {
				v.Tools = append(v.Tools, s)
			}
		}
	}
	return v
}

// Lenient reads the body the way a Go server does with encoding/json:
// field names matched without regard to case, the last of two equal keys
// kept.
func (r Request) Lenient() (ModelView, error) {
	type function struct {
		Name        *string
		Description *string
		Arguments   *string
	}
	var w struct {
		Messages []struct {
			Role      string
			Name      *string
			Content   json.RawMessage
			ToolCalls []struct{ Function function } `json:"tool_calls"`
		}
		Tools []struct{ Function function }
	}
	if err := json.Unmarshal(r.Body, &w); err != nil {
		return ModelView{}, err
	}
	var v ModelView
	add := func(to *[]string, s *string) {
		if s != nil {
			*to = append(*to, *s)
		}
	}
	for _, m := range w.Messages {
		vm := ViewMessage{Role: m.Role}
		add(&vm.Texts, m.Name)
		var s string
		var parts []struct{ Text *string }
		switch {
		case json.Unmarshal(m.Content, &s) == nil:
			vm.Texts = append(vm.Texts, s)
		case json.Unmarshal(m.Content, &parts) == nil:
			for _, p := range parts {
				add(&vm.Texts, p.Text)
			}
		}
		for _, tc := range m.ToolCalls {
			add(&vm.Texts, tc.Function.Name)
			add(&vm.Texts, tc.Function.Arguments)
		}
		v.Messages = append(v.Messages, vm)
	}
	for _, t := range w.Tools {
		add(&v.Tools, t.Function.Name)
		add(&v.Tools, t.Function.Description)
	}
	return v, nil
}

// Equal reports whether two views are the same.
func (v ModelView) Equal(o ModelView) bool {
	return slices.EqualFunc(v.Messages, o.Messages, func(a, b ViewMessage) bool {
		return a.Role == b.Role && slices.Equal(a.Texts, b.Texts)
	}) && slices.Equal(v.Tools, o.Tools)
}
