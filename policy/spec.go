package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/firebreak/firebreak/safety/textnorm"
)

// Spec is policy.yaml. Every key is optional; unknown keys are errors.
type Spec struct {
	// Format is the bundle format; default and only value 1.
	Format      int    `yaml:"format"`
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	// DefaultCode is the risk code of lexicon lines and files that name
	// none; default "A1h" (other content that laws forbid).
	DefaultCode string `yaml:"default_code"`
	// DefaultAction is the action of terms and rules whose line, file and
	// category name none; default "refuse".
	DefaultAction string `yaml:"default_action"`
	Layer         `yaml:",inline"`
	// PII turns the personal-information detector on; its hits carry
	// code A4f, so categories.A4f sets their action per direction.
	PII *PIISpec `yaml:"pii"`
	// Strikes says which codes bear strikes and the sanctions ladder;
	// validated here, applied by the sanctions code.
	Strikes *Strikes `yaml:"strikes"`
	// Labels configure the AI-generated labels on answers.
	Labels *Labels `yaml:"labels"`
	// Normalise sets the text normalisation of every engine: the noise
	// gap, the folds, and whether line breaks end a term (by default they
	// are noise within the gap, like other punctuation).
	Normalise textnorm.Options `yaml:"normalise"`
	// Review says what of a request the input review reads and how: a
	// policy per message role, for tool definitions and other fields, and
	// how many of the latest messages are also read as one text.
	Review *ReviewSpec `yaml:"review"`
	// Overlays are stricter or extra layers compiled into separate
	// engines, keyed "route:NAME", "tenant:NAME" or "minors".
	Overlays map[string]Overlay `yaml:"overlays"`
}

// Layer is what the base policy and each overlay may set.
type Layer struct {
	// Categories set, per risk code or class, a name, the default action
	// of its terms and rules, and the action of every hit per direction.
	Categories map[string]Category `yaml:"categories"`
	Lexicons   []LexiconSpec       `yaml:"lexicons"`
	// Allow names allow-list files: one phrase per line, optionally a tab
	// and the term it allows; without a term it allows every term it
	// contains. A hit inside an allowed phrase is not a hit.
	Allow []string   `yaml:"allow"`
	Rules []RuleSpec `yaml:"rules"`
	// Intents are intent rules: an action or aim near a harmful object,
	// with exceptions for asking about the harm (see IntentSpec).
	Intents   []IntentSpec   `yaml:"intents"`
	Detectors []DetectorSpec `yaml:"detectors"`
	// Actions set the action of hits by code or class and direction;
	// applied after Categories, the last one for a key wins.
	Actions []ActionSpec `yaml:"actions"`
	// Replies are safe replies by code or class ("" is the fallback).
	Replies map[string]ReplySpec `yaml:"replies"`
}

// Category is one risk code or class in policy.yaml.
type Category struct {
	Name    string `yaml:"name"`    // default: the standard's name
	Default string `yaml:"default"` // action of terms and rules that name none
	Input   string `yaml:"input"`   // action of every hit in prompts
	Output  string `yaml:"output"`  // action of every hit in answers
}

// LexiconSpec names one lexicon file.
type LexiconSpec struct {
	File   string   `yaml:"file"`
	Code   string   `yaml:"code"`   // code of lines that name none; default DefaultCode
	Action string   `yaml:"action"` // action of lines that name none
	Flags  []string `yaml:"flags"`  // pinyin, initials, numerals for every term
}

// RuleSpec is a regular-expression rule (RE2 syntax).
type RuleSpec struct {
	ID      string `yaml:"id"`
	Pattern string `yaml:"pattern"`
	Code    string `yaml:"code"`
	Action  string `yaml:"action"`
	MaxSpan int    `yaml:"max_span"` // longest match in bytes; default 256
}

// DetectorSpec configures a registered detector.
type DetectorSpec struct {
	ID       string `yaml:"id"`
	Type     string `yaml:"type"`
	Settings any    `yaml:"settings"`
}

// ActionSpec sets the action of a code or class, optionally per direction.
type ActionSpec struct {
	Code      string `yaml:"code"`
	Direction string `yaml:"direction"` // input, output or empty for both
	// Detector limits the action to one detector's hits: lexicon, near
	// (intent rules), rule, pii or a detector's id; empty for all.
	Detector string `yaml:"detector"`
	Action   string `yaml:"action"`
}

// ReplySpec is a safe-reply template in Chinese and English.
type ReplySpec struct {
	Zh string `yaml:"zh"`
	En string `yaml:"en"`
}

// PIISpec configures the "pii" detector.
type PIISpec struct {
	Enabled  bool `yaml:"enabled"`
	Settings any  `yaml:"settings"` // passed to the detector as JSON
}

// Overlay is a layer over the base policy; Include names overlays laid
// down first (e.g. a tenant overlay that includes "route:medical").
type Overlay struct {
	Include []string `yaml:"include"`
	Layer   `yaml:",inline"`
	// Labels change the base policy's labels for this overlay's answers.
	Labels *Labels `yaml:"labels"`
}

// parsedSpec is a decoded policy.yaml with the line of every node, keyed
// by path ("rules[2].pattern", "categories.A1d").
type parsedSpec struct {
	Spec
	lines map[string]int
}

func (p *parsedSpec) line(path string) int {
	for path != "" {
		if l, ok := p.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

var yamlLine = regexp.MustCompile(`^line (\d+): (.*)$`)

// parseSpec decodes policy.yaml, reporting unknown keys and type errors
// with their lines.
func parseSpec(content []byte) (*parsedSpec, []Problem) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(content))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) { // an empty policy.yaml: every default
			return &parsedSpec{lines: map[string]int{}}, nil
		}
		return nil, yamlProblems(err)
	}
	p := &parsedSpec{lines: map[string]int{}}
	var probs []Problem
	ck := keyChecker{lines: p.lines, probs: &probs, seen: map[aliasVisit]bool{}}
	ck.check(&root, reflect.TypeFor[Spec](), "")
	if err := root.Decode(&p.Spec); err != nil {
		probs = append(probs, yamlProblems(err)...)
	}
	if len(probs) > 0 {
		return nil, probs
	}
	return p, nil
}

func yamlProblems(err error) []Problem {
	var te *yaml.TypeError
	msgs := []string{err.Error()}
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	var probs []Problem
	for _, m := range msgs {
		m = strings.TrimPrefix(m, "yaml: ")
		pr := Problem{File: SpecFile, Msg: m}
		if sm := yamlLine.FindStringSubmatch(m); sm != nil {
			pr.Line, _ = strconv.Atoi(sm[1])
			pr.Msg = sm[2]
		}
		probs = append(probs, pr)
	}
	return probs
}

// keyChecker walks a YAML node against the Go type it decodes into,
// recording every node's line and reporting mapping keys that name no
// field.
type keyChecker struct {
	lines map[string]int
	probs *[]Problem
	// seen holds the anchored nodes already walked through an alias, with
	// the type each was read as. Each is walked once per type: an alias
	// names the same node every time, so its keys are checked, and a file
	// of aliases of aliases ("billion laughs") is read in time linear in
	// its size, not in its expansion.
	seen map[aliasVisit]bool
}

type aliasVisit struct {
	n *yaml.Node
	t reflect.Type
}

func (ck keyChecker) check(n *yaml.Node, t reflect.Type, path string) {
	lines, probs := ck.lines, ck.probs
	for n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
		v := aliasVisit{n, t}
		if ck.seen[v] {
			if path != "" {
				lines[path] = n.Line
			}
			return
		}
		ck.seen[v] = true
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if path != "" {
		lines[path] = n.Line
	}
	switch {
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			ft, ok := fields[k.Value]
			if !ok {
				*probs = append(*probs, Problem{File: SpecFile, Line: k.Line,
					Msg: fmt.Sprintf("unknown key %q%s (want one of %s)", k.Value, where(path), strings.Join(sortedKeys(fields), ", "))})
				continue
			}
			ck.check(v, ft, join(path, k.Value))
		}
	case t.Kind() == reflect.Map && n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			ck.check(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value))
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, c := range n.Content {
			ck.check(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	}
}

func where(path string) string {
	if path == "" {
		return ""
	}
	return " in " + path
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// yamlFields maps the yaml names of a struct's fields, inline ones
// included, to their types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if opts == "inline" {
			for k, v := range yamlFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" || name == "-" {
			continue
		}
		out[name] = f.Type
	}
	return out
}
