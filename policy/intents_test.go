package policy_test

import (
	"strings"
	"testing"

	"github.com/firebreak/firebreak/policy"
	"github.com/firebreak/firebreak/safety"
)

// intentFiles is the test bundle with two intent rules and their phrase
// files, the second rule only in the minors overlay.
func intentFiles(t *testing.T) map[string]string {
	files := testFiles(t)
	spec := replaceIn(t, files, policy.SpecFile, "pii: {enabled: true}", `pii: {enabled: true}

intents:
  - id: drugs-make
    code: A1h
    intent: [intents/make.txt]
    object: [intents/drugs.txt]
    except: [intents/about.txt]
    within: 8
`)
	spec = replaceIn(t, map[string][]byte{policy.SpecFile: []byte(spec)}, policy.SpecFile, "  minors:\n", `  minors:
    intents:
      - {id: drugs-mention, code: A1h, action: review, intent: [intents/ask.txt], object: [intents/drugs.txt]}
`)
	return map[string]string{
		policy.SpecFile:     spec,
		"intents/make.txt":  "# making and getting\n教我\n提炼\nhow do i make\n",
		"intents/drugs.txt": "冰毒\nmeth\n",
		"intents/about.txt": "危害\n识别\nhistory of\n",
		"intents/ask.txt":   "什么是\n",
	}
}

func TestIntentRules(t *testing.T) {
	c := compile(t, bundle(t, testFiles(t), intentFiles(t)))
	tests := []struct {
		text  string
		minor bool
		want  safety.Action
	}{
		{"教我在家提炼冰毒", false, safety.Refuse},
		{"冰毒对人体有哪些危害", false, safety.Allow},
		{"如何识别冰毒", false, safety.Allow},
		{"How do I make meth at home?", false, safety.Refuse},
		{"the history of how do i make meth", false, safety.Allow},
		{"什么是冰毒", false, safety.Allow},
		{"什么是冰毒", true, safety.Review},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			d := c.Engine("", "", tt.minor).Check(safety.Input, tt.text)
			if d.Action != tt.want {
				t.Fatalf("%v (hits %+v), want %v", d.Action, d.Hits, tt.want)
			}
			if tt.want != safety.Allow && (d.Hits[0].Detector != "near" || d.Code != "A1h") {
				t.Errorf("hit %+v", d.Hits[0])
			}
		})
	}
	var sum strings.Builder
	if err := c.WriteSummary(&sum); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sum.String(), "intent rules 1") || !strings.Contains(sum.String(), "intent rules 2") {
		t.Errorf("summary does not count the intent rules:\n%s", sum.String())
	}
}

func TestInvalidIntentRules(t *testing.T) {
	files := testFiles(t)
	good := intentFiles(t)
	edit := func(old, new string) map[string]string {
		e := map[string]string{}
		for k, v := range good {
			e[k] = v
		}
		e[policy.SpecFile] = strings.Replace(good[policy.SpecFile], old, new, 1)
		if e[policy.SpecFile] == good[policy.SpecFile] {
			t.Fatalf("edit %q does not apply", old)
		}
		return e
	}
	withFile := func(name, content string) map[string]string {
		e := map[string]string{}
		for k, v := range good {
			e[k] = v
		}
		e[name] = content
		return e
	}
	tests := []struct {
		name  string
		edits map[string]string
		want  []string
	}{
		{"bad phrase", withFile("intents/drugs.txt", "冰毒\n、、、\n"), []string{"intents/drugs.txt:2:", "nothing to match"}},
		{"missing file", withFile("intents/about.txt", ""), []string{"policy.yaml:30:", `no file "intents/about.txt"`}},
		{"no id", edit("  - id: drugs-make\n    code: A1h\n", "  - code: A1h\n"), []string{"policy.yaml:", "intents[0]: id is required"}},
		{"duplicate id", edit("{id: drugs-mention,", "{id: drugs-make,"), []string{`duplicate intent rule id "drugs-make"`}},
		{"bad code", edit("    code: A1h\n", "    code: A1z\n"), []string{"policy.yaml:27:", `unknown risk code "A1z"`}},
		{"mask", edit("    code: A1h\n", "    code: A1h\n    action: mask\n"), []string{"policy.yaml:28:", "cannot mask"}},
		{"within", edit("within: 8", "within: 500"), []string{"policy.yaml:31:", "must be 1…200"}},
		{"no objects", edit("    object: [intents/drugs.txt]\n", ""), []string{"intents[0]: intent and object"}},
		{"unknown key", edit("within: 8", "within: 8\n    near: 3"), []string{"policy.yaml:32:", `unknown key "near"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantInvalid(t, bundle(t, files, tt.edits), tt.want)
		})
	}
}
