package policy

import (
	"fmt"
	"strings"

	"github.com/firebreak/firebreak/safety"
	"github.com/firebreak/firebreak/safety/textnorm"
)

// IntentSpec is an intent rule (the engine's near rule): a phrase of the
// intent files within `within` units of a phrase of the object files
// ("教我" … "冰毒", "how do I make" … "pipe bomb") is a hit, unless a
// phrase of the except files occurs within `except_within` units of the
// pair ("危害", "how to recognise", "history of": a question about the
// harm, not a request for it). Phrase files hold one phrase per line;
// # comments and blank lines are skipped. A unit is a letter, or a run
// of spaces and punctuation.
type IntentSpec struct {
	ID           string   `yaml:"id"`
	Code         string   `yaml:"code"`
	Action       string   `yaml:"action"` // default: the category's, else default_action; not mask
	Intent       []string `yaml:"intent"` // phrase files
	Object       []string `yaml:"object"`
	Except       []string `yaml:"except"`
	Within       int      `yaml:"within"`        // default 12, at most 200
	ExceptWithin int      `yaml:"except_within"` // default: within
	IntentFirst  bool     `yaml:"intent_first"`  // the intent must come first; default either order
}

func (c *checker) intent(path string, r IntentSpec, ids map[string]string) {
	c.uniqueID(path, "intent rule", r.ID, ids)
	c.code(path+".code", r.Code, false)
	c.action(path+".action", r.Action)
	if r.Action == "mask" {
		c.addf(path+".action", "an intent rule cannot mask (it spans two phrases and the text between); use review, refuse or block")
	}
	if len(r.Intent) == 0 || len(r.Object) == 0 {
		c.addf(path, "intent and object each need at least one phrase file")
	}
	for _, w := range []struct {
		key string
		n   int
	}{{"within", r.Within}, {"except_within", r.ExceptWithin}} {
		if w.n < 0 || w.n > safety.MaxNearWithin {
			c.addf(path+"."+w.key, "%d: must be 1…%d (0 for the default)", w.n, safety.MaxNearWithin)
		}
	}
}

// intents reads the phrase files of a layer's intent rules. A file used
// by several rules is read once.
func (ld *loader) intents(d *layerData, prefix string, l *Layer) {
	for i, r := range l.Intents {
		nr := safety.NearRule{ID: r.ID, Code: r.Code, Action: r.Action, Within: r.Within,
			ExceptWithin: r.ExceptWithin, IntentFirst: r.IntentFirst}
		path := fmt.Sprintf("%sintents[%d]", prefix, i)
		for _, role := range []struct {
			key   string
			files []string
			dst   *[]string
		}{{"intent", r.Intent, &nr.Intent}, {"object", r.Object, &nr.Object}, {"except", r.Except, &nr.Except}} {
			for j, name := range role.files {
				phrases, ok := ld.phraseFile(name)
				if !ok {
					ld.missing(fmt.Sprintf("%s.%s[%d]", path, role.key, j), name)
					continue
				}
				*role.dst = append(*role.dst, phrases...)
			}
		}
		d.intents = append(d.intents, nr)
	}
}

// phraseFile reads a phrase file once, reporting bad lines with their
// file and line.
func (ld *loader) phraseFile(name string) ([]string, bool) {
	if p, ok := ld.phrases[name]; ok {
		return p, true
	}
	content, ok := ld.b.File(name)
	if !ok {
		return nil, false
	}
	if ld.norm == nil {
		ld.norm, _ = textnorm.New(textnorm.Options{}) // the default options cannot fail
	}
	var out []string
	for n, line := range strings.Split(string(content), "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimRight(line, "\r"), "\uFEFF"))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := safety.ValidNearPhrase(ld.norm, line); err != nil {
			ld.probs = append(ld.probs, Problem{File: name, Line: n + 1, Msg: fmt.Sprintf("phrase %q: %v", line, err)})
			continue
		}
		out = append(out, line)
	}
	ld.phrases[name] = out
	return out, true
}
