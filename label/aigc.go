package label

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Label values of the AIGC object (GB 45438-2025).
const (
	Generated  = "1" // AI-generated content
	Possibly   = "2" // possibly AI-generated
	Suspected  = "3" // suspected to be AI-generated
	HeaderName = "AIGC"
	// FieldName is the member of a chat completion, and of the last chunk
	// of a stream, that carries the AIGC object.
	FieldName = "AIGC"
)

// AIGC is the implicit label: the metadata object GB 45438-2025 defines.
// Every value is printable ASCII without '"' or '\' (ValidValue).
type AIGC struct {
	Label             string `json:"Label"`
	ContentProducer   string `json:"ContentProducer"`
	ProduceID         string `json:"ProduceID"`
	ReservedCode1     string `json:"ReservedCode1"`
	ContentPropagator string `json:"ContentPropagator"`
	PropagateID       string `json:"PropagateID"`
	ReservedCode2     string `json:"ReservedCode2"`
}

// fields lists the object's members in the standard's order, with
// pointers into a.
func (a *AIGC) fields() [7]struct {
	name string
	v    *string
} {
	return [7]struct {
		name string
		v    *string
	}{
		{"Label", &a.Label}, {"ContentProducer", &a.ContentProducer}, {"ProduceID", &a.ProduceID},
		{"ReservedCode1", &a.ReservedCode1}, {"ContentPropagator", &a.ContentPropagator},
		{"PropagateID", &a.PropagateID}, {"ReservedCode2", &a.ReservedCode2},
	}
}

// ValidValue reports whether s may be an AIGC value: printable ASCII
// without '"' or '\'.
func ValidValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// Validate names the first member whose value breaks the character rules.
func (a AIGC) Validate() error {
	for _, f := range a.fields() {
		if !ValidValue(*f.v) {
			return fmt.Errorf("AIGC %s: values are printable ASCII without \" or \\", f.name)
		}
	}
	return nil
}

// MarshalJSON writes the object with its members in the standard's order
// and no escapes: the character rules make every value a JSON string as
// it is. It fails on a value that breaks them.
func (a AIGC) MarshalJSON() ([]byte, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	return a.AppendJSON(make([]byte, 0, 256)), nil
}

// AppendJSON appends the object's JSON to b. The values must be valid.
func (a AIGC) AppendJSON(b []byte) []byte {
	b = append(b, '{')
	for i, f := range a.fields() {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, f.name...)
		b = append(b, `":"`...)
		b = append(b, *f.v...)
		b = append(b, '"')
	}
	return append(b, '}')
}

// String is the object's JSON, the form of the AIGC response header.
func (a AIGC) String() string { return string(a.AppendJSON(nil)) }

// ErrNoAIGC is returned by ParseAIGC for JSON that carries no AIGC object.
var ErrNoAIGC = errors.New("no AIGC object")

// ParseAIGC reads an AIGC object from JSON in any of the forms Firebreak
// writes or a user may hold: the object itself ({"Label":…}), the
// standard's wrapper ({"AIGC":{…}}), or a chat completion or stream chunk
// that carries it in its AIGC member. Members that are absent are empty;
// a value that is not a string, or breaks the character rules, is an
// error.
func ParseAIGC(data []byte) (AIGC, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return AIGC{}, fmt.Errorf("parse AIGC: %w", err)
	}
	if inner, ok := probe[FieldName]; ok {
		data = inner
	} else if _, ok := probe["Label"]; !ok {
		return AIGC{}, ErrNoAIGC
	}
	var a AIGC
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&a); err != nil {
		return AIGC{}, fmt.Errorf("parse AIGC: %w", err)
	}
	return a, a.Validate()
}
