package safety

import (
	"encoding/json"
	"fmt"
	"sort"
	"sync"
)

// Action is what a hit asks the gateway to do. Actions are ordered by
// severity: when several hits disagree, the most severe one decides.
type Action int

const (
	Allow  Action = iota // pass the text unchanged
	Mask                 // replace the hit's span, pass the rest
	Review               // pass the text, queue it for human review
	Refuse               // answer with a safe reply instead
	Block                // refuse and stop serving (e.g. abuse); the strictest
)

var actionNames = [...]string{"allow", "mask", "review", "refuse", "block"}

func (a Action) String() string {
	if a >= 0 && int(a) < len(actionNames) {
		return actionNames[a]
	}
	return fmt.Sprintf("action(%d)", int(a))
}

// ParseAction parses an action name as used in policies.
func ParseAction(s string) (Action, error) {
	for i, n := range actionNames {
		if n == s {
			return Action(i), nil
		}
	}
	return Allow, fmt.Errorf("unknown action %q (want allow, mask, review, refuse or block)", s)
}

func (a Action) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

func (a *Action) UnmarshalText(b []byte) error {
	v, err := ParseAction(string(b))
	*a = v
	return err
}

// Direction says whether text is a prompt going to the model or an answer
// coming from it. Policies may treat the two differently.
type Direction int

const (
	Input Direction = iota
	Output
)

func (d Direction) String() string {
	if d == Output {
		return "output"
	}
	return "input"
}

// Hit is one finding of one detector in one text. Start and End are byte
// offsets into the original text (before normalisation), End exclusive.
type Hit struct {
	Detector string  `json:"detector"`        // detector ID, e.g. "lexicon", "pii"
	Rule     string  `json:"rule"`            // term or rule id within the detector
	Term     string  `json:"term,omitempty"`  // the canonical term or rule name that matched
	Code     string  `json:"code"`            // risk code, A1a…A5b
	Action   Action  `json:"action"`          // what this hit asks for
	Start    int     `json:"start"`           // byte offset into the original text
	End      int     `json:"end"`             // exclusive
	Score    float64 `json:"score,omitempty"` // for model-based detectors, 0..1
}

// Detector finds hits in a whole text. Implementations are immutable after
// construction and safe for concurrent use.
type Detector interface {
	Detect(text string) []Hit
}

// Spanner is implemented by detectors whose hits never span more than
// MaxSpan bytes of original text. The stream moderator keeps that much
// context when it runs a whole-text detector over a stream.
type Spanner interface {
	MaxSpan() int
}

// Holder is implemented by detectors that can tell how many bytes at the
// end of a text could still become part of a hit once more text arrives.
// A stream then holds back only that much (at most MaxSpan) instead of
// MaxSpan, so answers are not delayed by the longest possible hit.
type Holder interface {
	Hold(text string) int
}

// DetectorFactory builds a detector from its settings, given as JSON (policy
// YAML is converted to JSON before it reaches a factory). A factory validates
// its settings and returns an error that names the bad field.
type DetectorFactory func(settings json.RawMessage) (Detector, error)

var (
	registryMu sync.RWMutex
	registry   = map[string]DetectorFactory{}
)

// RegisterDetector makes a detector type available to policies under typ.
// It is meant to be called from an init function of the package that
// implements the detector; it panics if typ is registered twice.
func RegisterDetector(typ string, f DetectorFactory) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[typ]; dup {
		panic("safety: detector type registered twice: " + typ)
	}
	registry[typ] = f
}

// LookupDetector returns the factory registered under typ.
func LookupDetector(typ string) (DetectorFactory, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	f, ok := registry[typ]
	return f, ok
}

// DetectorTypes lists the registered detector types, sorted.
func DetectorTypes() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	types := make([]string, 0, len(registry))
	for t := range registry {
		types = append(types, t)
	}
	sort.Strings(types)
	return types
}
