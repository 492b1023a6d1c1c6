package policy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/label"
	"github.com/firebreak/firebreak/policy"
	"github.com/firebreak/firebreak/safety"
)

func TestDefaultBundle(t *testing.T) {
	c := compile(t, policy.Default())
	if c.Version() != policy.Default().ID() {
		t.Errorf("version %s, bundle id %s", c.Version(), policy.Default().ID())
	}
	if n := c.Base().Lexicon().Len(); n < 300 {
		t.Errorf("default bundle has %d terms, want the starter lexicon (300+)", n)
	}
	adult := c.Engine("", "", false).Check(safety.Input, "圣战殉道")
	minor := c.Engine("", "", true).Check(safety.Input, "圣战殉道")
	if adult.Action != safety.Review || minor.Action != safety.Refuse {
		t.Errorf("review term: adult %v, minor %v; want review, refuse", adult.Action, minor.Action)
	}
	if d := c.Base().Check(safety.Input, "我的手机号是13812345678"); d.Action != safety.Allow {
		t.Errorf("own phone number in a prompt: %v, want allow", d.Action)
	}
	if d := c.Base().Check(safety.Output, "他的手机号是13812345678"); d.Action != safety.Mask {
		t.Errorf("phone number in an answer: %v, want mask", d.Action)
	}
	if _, err := c.Spec().Strikes.SanctionLadder(); err != nil {
		t.Errorf("default strikes: %v", err)
	}
}

func TestLoadDirRoundTrip(t *testing.T) {
	b, err := policy.LoadDir(filepath.Join("testdata", "bundle"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := b.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".hidden"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	again, err := policy.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if again.ID() != b.ID() {
		t.Errorf("id after write and load %s, want %s (hidden files must not count)", again.ID(), b.ID())
	}
	moved := bundle(t, testFiles(t), map[string]string{"allow.txt": "", "allow2.txt": "bomb recipe for a cake\n"})
	if moved.ID() == b.ID() {
		t.Error("renaming a file kept the id")
	}
}

func TestInvalidBundles(t *testing.T) {
	files := testFiles(t)
	spec := func(old, new string) map[string]string {
		return map[string]string{policy.SpecFile: replaceIn(t, files, policy.SpecFile, old, new)}
	}
	tests := []struct {
		name  string
		edits map[string]string
		want  []string // substrings of the error
	}{
		{"bad yaml", spec("format: 1", "format: [1"), []string{"policy.yaml:"}},
		{"unknown key", spec("name: test", "name: test\nlexicon: []"), []string{"policy.yaml:4:", `unknown key "lexicon"`}},
		{"unknown key in a list", spec("{id: sell-cards,", "{id: sell-cards, severity: 3,"), []string{"policy.yaml:18:", `unknown key "severity" in rules[0]`}},
		{"unknown code", spec("A4f: {input: allow}", "A9z: {input: allow}"), []string{"policy.yaml:9:", `unknown risk code "A9z"`}},
		{"unknown code in a lexicon", map[string]string{"lexicons/a1.txt": "ok term\nbad term\tB1\n"}, []string{"lexicons/a1.txt:2:", `unknown risk code "B1"`}},
		{"bad action", spec("A2: {default: review}", "A2: {default: ban}"), []string{"policy.yaml:8:", `unknown action "ban"`}},
		{"bad regex", spec(`(?i)sell\s+stolen`, `(?i)sell(\s+stolen`), []string{"policy.yaml:18:", "bad regular expression"}},
		{"duplicate rule ids", spec("  - {id: sell-cards,", "  - {id: sell-cards, pattern: x, code: A1h}\n  - {id: sell-cards,"), []string{"policy.yaml:19:", `duplicate rule id "sell-cards" (first at policy.yaml:18)`}},
		{"duplicate term", map[string]string{"lexicons/a2.txt": "women are inferior\n\n制作炸弹\n"}, []string{"lexicons/a2.txt:3:", `term "制作炸弹" duplicates lexicons/a1.txt:3`}},
		{"missing lexicon file", map[string]string{"lexicons/a2.txt": ""}, []string{"policy.yaml:13:", `no file "lexicons/a2.txt"`}},
		{"missing overlay file", map[string]string{"lexicons/medical.txt": ""}, []string{"policy.yaml:37:", `no file "lexicons/medical.txt"`}},
		{"unknown include", spec("include: [route:medical]", "include: [route:surgery]"), []string{"policy.yaml:39:", `no overlay "route:surgery"`}},
		{"bad overlay key", spec("route:medical:", "medical:"), []string{`overlay "medical"`}},
		{"allow names no term", map[string]string{"allow.txt": "ok\nsafe phrase\tno such term\n"}, []string{"allow.txt:2:", `no term "no such term"`}},
		{"label without generation element", spec("zh: AI生成", "zh: AI助手"), []string{"policy.yaml:32:", "labels.explicit.zh", "explicit label"}},
		{"english label without AI", spec("en: AI-generated", "en: Machine-generated"), []string{"policy.yaml:32:", "labels.explicit.en"}},
		{"overlay label without AI element", spec("    actions:\n      - {code: A2, action: refuse}", "    actions:\n      - {code: A2, action: refuse}\n    labels:\n      explicit:\n        zh: 本内容由模型生成"),
			[]string{"policy.yaml:47:", "overlays.minors.labels.explicit.zh", "人工智能 or AI"}},
		{"label position", spec("en: AI-generated}", "en: AI-generated, position: middle}"), []string{"policy.yaml:32:", `position "middle"`}},
		{"reserved_code1 is the signature", spec("labels:\n", "labels:\n  implicit: {reserved_code1: x}\n"), []string{"policy.yaml:32:", "reserved_code1 holds"}},
		{"metadata value with a quote", spec("labels:\n", "labels:\n  implicit: {content_producer: 'a\"b'}\n"), []string{"policy.yaml:32:", "printable ASCII"}},
		{"unlabelled outside a tenant overlay", spec("labels:\n", "labels:\n  allow_unlabelled: true\n"), []string{"policy.yaml:32:", "only a tenant overlay"}},
		{"bad ladder", spec("action: suspend", "action: jail"), []string{"strikes.ladder", `unknown sanction "jail"`}},
		{"unknown detector type", spec("pii: {enabled: true}", "detectors: [{id: g, type: nosuch}]"), []string{"policy.yaml:23:", `unknown detector type "nosuch"`}},
		{"bad review direction", spec("pii: {enabled: true}", "review: {roles: {ipython: {directions: [sideways]}}}"), []string{"policy.yaml:23:", `roles.ipython: direction "sideways"`}},
		{"bad media choice", spec("pii: {enabled: true}", "review: {media: read}"), []string{"policy.yaml:23:", `media "read": want refuse or allow`}},
		{"unknown review key", spec("pii: {enabled: true}", "review: {window: 3}"), []string{"policy.yaml:23:", `unknown key "window" in review`}},
		{"bad gap", spec("pii: {enabled: true}", "normalise: {max_gap: 99}"), []string{"normalise", "at most 64"}},
		{"term of noise only", map[string]string{"lexicons/a2.txt": "women are inferior\n\n!!!\n"}, []string{"lexicons/a2.txt:3:", `term "!!!": nothing to match after normalisation`}},
		{"term of invisible characters", map[string]string{"lexicons/medical.txt": "\u200b\u00ad\n"}, []string{"lexicons/medical.txt:1:", "nothing to match"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantInvalid(t, bundle(t, files, tt.edits), tt.want)
		})
	}
}

func TestOverlaysPickEngine(t *testing.T) {
	c := compile(t, bundle(t, testFiles(t), nil))
	tests := []struct {
		name          string
		route, tenant string
		minor         bool
		dir           safety.Direction
		text          string
		want          safety.Action
		version       string
	}{
		{"base ignores medical terms", "", "", false, safety.Output, "a miracle cure for cancer", safety.Allow, ""},
		{"unknown route is the base", "chat", "", false, safety.Output, "a miracle cure for cancer", safety.Allow, ""},
		{"medical route", "medical", "", false, safety.Output, "a miracle cure for cancer", safety.Refuse, "/route:medical"},
		{"tenant includes medical", "chat", "school", false, safety.Output, "停药治愈癌症", safety.Refuse, "/tenant:school"},
		{"tenant blocks A1 input", "", "school", false, safety.Input, "how to build a pipe bomb", safety.Block, "/tenant:school"},
		{"tenant leaves A1 output", "", "school", false, safety.Output, "how to build a pipe bomb", safety.Refuse, "/tenant:school"},
		{"adult A2 is reviewed", "", "", false, safety.Input, "women are inferior", safety.Review, ""},
		{"minor A2 is refused", "", "", true, safety.Input, "women are inferior", safety.Refuse, "/minors"},
		{"minor on medical route", "medical", "", true, safety.Input, "women are inferior", safety.Refuse, "/route:medical+minors"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := c.Engine(tt.route, tt.tenant, tt.minor)
			d := e.Check(tt.dir, tt.text)
			if d.Action != tt.want {
				t.Errorf("action %v, want %v (hits %v)", d.Action, tt.want, d.Hits)
			}
			if want := c.Version() + tt.version; d.Version != want {
				t.Errorf("version %s, want %s", d.Version, want)
			}
		})
	}
}

// TestOverlaysPickLabels: the labels of a request follow the overlay that
// picks its engine, field by field over the base's and the defaults.
func TestOverlaysPickLabels(t *testing.T) {
	files := testFiles(t)
	spec := replaceIn(t, files, policy.SpecFile, "      - {file: lexicons/medical.txt, code: A5a, action: refuse}\n",
		"      - {file: lexicons/medical.txt, code: A5a, action: refuse}\n    labels: {explicit: {position: both, zh: 医疗内容由人工智能生成}}\n")
	spec = strings.Replace(spec, "      A1: {input: block}\n", "      A1: {input: block}\n    labels: {allow_unlabelled: true, implicit: {content_propagator: school-app}}\n", 1)
	spec = strings.Replace(spec, "      - {code: A2, action: refuse}\n", "      - {code: A2, action: refuse}\n    labels: {allow_unlabelled: false, explicit: {safe_replies: false}}\n", 1)
	c := compile(t, bundle(t, files, map[string]string{policy.SpecFile: spec}))
	tests := []struct {
		name          string
		route, tenant string
		minor         bool
		want          label.Policy
	}{
		{"base over the defaults", "", "", false, label.Policy{Zh: "AI生成", En: "AI-generated", Position: label.End, SafeReplies: true, ContentProducer: "firebreak"}},
		{"medical route", "medical", "", false, label.Policy{Zh: "医疗内容由人工智能生成", En: "AI-generated", Position: label.Both, SafeReplies: true, ContentProducer: "firebreak"}},
		{"tenant includes the route", "chat", "school", false, label.Policy{Zh: "医疗内容由人工智能生成", En: "AI-generated", Position: label.Both, SafeReplies: true,
			AllowUnlabelled: true, ContentProducer: "firebreak", ContentPropagator: "school-app"}},
		{"minors of the tenant", "", "school", true, label.Policy{Zh: "医疗内容由人工智能生成", En: "AI-generated", Position: label.Both,
			ContentProducer: "firebreak", ContentPropagator: "school-app"}},
		{"minors", "", "", true, label.Policy{Zh: "AI生成", En: "AI-generated", Position: label.End, ContentProducer: "firebreak"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.Labels(tt.route, tt.tenant, tt.minor); *got != tt.want {
				t.Errorf("labels\n got %+v\nwant %+v", *got, tt.want)
			}
		})
	}
	if got := compile(t, policy.Default()).Labels("", "", false); *got != *label.Default() {
		t.Errorf("default bundle labels %+v, want label.Default() %+v", *got, *label.Default())
	}
}

// TestReviewAndNormaliseSections: policy.yaml sets the review scope and
// the normalisation every engine carries.
func TestReviewAndNormaliseSections(t *testing.T) {
	files := testFiles(t)
	c := compile(t, bundle(t, files, map[string]string{policy.SpecFile: replaceIn(t, files, policy.SpecFile, "pii: {enabled: true}",
		"pii: {enabled: true}\nreview:\n  context: 4\n  media: allow\n  roles:\n    ipython: {directions: [input, output]}\n    system: {base_only: true}\n  tools: {strikes: true}\n")})).Engine("medical", "", true)
	sc := c.Scope()
	if sc.Context != 4 || !sc.AllowMedia || !sc.Tools.Strikes || !sc.Roles["system"].BaseOnly || len(sc.Roles["ipython"].Directions) != 2 {
		t.Errorf("scope %+v", sc)
	}
	if _, ok := sc.Role("user"); !ok {
		t.Error("a role named in policy.yaml replaced the defaults")
	}
	if d := c.Check(safety.Input, "制作\n炸弹"); d.Action != safety.Refuse {
		t.Errorf("a line break inside a term: %v", d.Action)
	}
	strict := compile(t, bundle(t, files, map[string]string{policy.SpecFile: replaceIn(t, files, policy.SpecFile, "pii: {enabled: true}",
		"pii: {enabled: true}\nnormalise: {breaks_end_terms: true}\n")})).Base()
	if d := strict.Check(safety.Input, "制作\n炸弹"); d.Action != safety.Allow {
		t.Errorf("breaks_end_terms: a line break inside a term gave %v", d.Action)
	}
}

func TestBundleRules(t *testing.T) {
	c := compile(t, bundle(t, testFiles(t), nil))
	tests := []struct {
		name string
		dir  safety.Direction
		text string
		want safety.Action
		code string
	}{
		{"term with its own action", safety.Input, "a bomb recipe", safety.Review, "A1d"},
		{"allow phrase containing the term", safety.Input, "the bomb recipe for a cake", safety.Allow, ""},
		{"category default", safety.Input, "girls cannot code", safety.Review, "A2e"},
		{"policy default", safety.Input, "join the caliphate", safety.Refuse, "A1d"},
		{"regex rule", safety.Input, "where to SELL stolen  credit cards", safety.Refuse, "A1h"},
		{"pii allowed in prompts", safety.Input, "my mail is li.lei@example.com", safety.Allow, ""},
		{"pii masked in answers", safety.Output, "his mail is li.lei@example.com", safety.Mask, "A4f"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := c.Base().Check(tt.dir, tt.text)
			if d.Action != tt.want || (tt.code != "" && d.Code != tt.code) {
				t.Errorf("got %v %s, want %v %s", d.Action, d.Code, tt.want, tt.code)
			}
		})
	}
	if d := c.Base().Check(safety.Input, "how to build a pipe bomb"); d.Reply != "I can't help with that." {
		t.Errorf("reply %q, want the bundle's A1 reply", d.Reply)
	}
}

func TestCoverage(t *testing.T) {
	cov := policy.CoverageOf(compile(t, bundle(t, testFiles(t), nil)), policy.Floors{Total: 8, PerA1: 5, PerA2: 3})
	counts := map[string]int{}
	for _, cc := range cov.Codes {
		counts[cc.Code] = cc.Terms
	}
	if cov.Total != 8 || counts["A1d"] != 5 || counts["A2e"] != 3 || counts["A5a"] != 0 {
		t.Errorf("total %d, A1d %d, A2e %d, A5a %d; want 8, 5, 3, 0 (overlay terms are not the base lexicon)",
			cov.Total, counts["A1d"], counts["A2e"], counts["A5a"])
	}
	// Every A1 risk but A1d and every A2 risk but A2e is below its floor.
	if want := 7 + 8; len(cov.Warnings) != want {
		t.Errorf("%d warnings, want %d: %v", len(cov.Warnings), want, cov.Warnings)
	}
	// The default bundle meets the standard's floors.
	std := policy.CoverageOf(compile(t, policy.Default()), policy.Floors{})
	if std.Floor != 10_000 || std.Total < 10_000 || !std.OK() {
		t.Errorf("default bundle: %d terms (floor %d), warnings %v", std.Total, std.Floor, std.Warnings)
	}
	// The standard's numbers are the defaults: a floor above the library
	// warns.
	if high := policy.CoverageOf(compile(t, policy.Default()), policy.Floors{Total: 20_000}); len(high.Warnings) == 0 ||
		!strings.Contains(high.Warnings[0], "below the floor of 20000") {
		t.Errorf("a floor of 20,000: warnings %v", high.Warnings)
	}
}

func TestGoldenSummary(t *testing.T) {
	var buf bytes.Buffer
	if err := compile(t, bundle(t, testFiles(t), nil)).WriteSummary(&buf); err != nil {
		t.Fatal(err)
	}
	golden(t, "summary.golden", buf.Bytes())
}

// proposed is the test bundle with one term added, one removed and one
// made stricter.
func proposed(t *testing.T) *policy.Bundle {
	files := testFiles(t)
	return bundle(t, files, map[string]string{
		"lexicons/a1.txt": replaceIn(t, files, "lexicons/a1.txt", "bomb recipe\tA1d\treview", "bomb recipe\tA1d\trefuse\nmake napalm"),
		"lexicons/a2.txt": replaceIn(t, files, "lexicons/a2.txt", "女人不配\n", ""),
	})
}

func TestDryRun(t *testing.T) {
	from := compile(t, bundle(t, testFiles(t), nil))
	to := compile(t, proposed(t))
	f, err := os.Open(filepath.Join("testdata", "traffic.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	r, err := policy.DryRun(context.Background(), from, to, policy.ReadJSONL(f), policy.DryRunOptions{Examples: 1, MaxText: 40})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, g := range r.Changes {
		counts[g.Direction+" "+g.Code+" "+g.Kind] = g.Count
		if len(g.Examples) > 1 {
			t.Errorf("%s %s: %d examples, want at most 1", g.Code, g.Kind, len(g.Examples))
		}
	}
	want := map[string]int{"input A1d newly_refused": 3, "output A2e action_changed": 1}
	if r.Samples != 8 || r.Changed != 4 || len(counts) != len(want) {
		t.Errorf("samples %d changed %d groups %v; want 8, 4, %v", r.Samples, r.Changed, counts, want)
	}
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("%s: %d, want %d", k, counts[k], n)
		}
	}
	var text, js bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	golden(t, "dryrun.golden", text.Bytes())
	enc := json.NewEncoder(&js)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		t.Fatal(err)
	}
	golden(t, "dryrun.json.golden", js.Bytes())
}

func TestDiff(t *testing.T) {
	d := policy.DiffOf(compile(t, bundle(t, testFiles(t), nil)), compile(t, proposed(t)))
	if len(d.TermsAdded) != 1 || len(d.TermsRemoved) != 1 || len(d.TermsChanged) != 1 || len(d.FilesChanged) != 2 {
		t.Errorf("diff: added %v removed %v changed %v files %v", d.TermsAdded, d.TermsRemoved, d.TermsChanged, d.FilesChanged)
	}
	if d.TermsChanged[0] != "bomb recipe: A1d review -> A1d refuse" {
		t.Errorf("changed term %q", d.TermsChanged[0])
	}
	// The line diff: each changed file with its deleted and inserted lines
	// numbered in the older and newer file, and context around them.
	files := testFiles(t)
	lineOf := func(file, text string) int {
		for i, l := range strings.Split(string(files[file]), "\n") {
			if l == text {
				return i + 1
			}
		}
		t.Fatalf("%s has no line %q", file, text)
		return 0
	}
	got := map[string][]string{}
	for _, f := range d.Lines {
		if f.Status != "changed" {
			t.Errorf("%s: status %s", f.Name, f.Status)
		}
		for _, h := range f.Hunks {
			for _, l := range h.Lines {
				switch l.Kind {
				case "delete":
					got[f.Name] = append(got[f.Name], fmt.Sprintf("-%d %s", l.Old, l.Text))
				case "insert":
					got[f.Name] = append(got[f.Name], fmt.Sprintf("+%d %s", l.New, l.Text))
				case "equal":
					if l.Old == 0 || l.New == 0 {
						t.Errorf("%s: context line %+v without both numbers", f.Name, l)
					}
				}
			}
		}
	}
	bomb := lineOf("lexicons/a1.txt", "bomb recipe\tA1d\treview")
	want := map[string][]string{
		"lexicons/a1.txt": {fmt.Sprintf("-%d bomb recipe\tA1d\treview", bomb), fmt.Sprintf("+%d bomb recipe\tA1d\trefuse", bomb),
			fmt.Sprintf("+%d make napalm", bomb+1)},
		"lexicons/a2.txt": {fmt.Sprintf("-%d 女人不配", lineOf("lexicons/a2.txt", "女人不配"))},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("line diff %q, want %q", got, want)
	}
}

// TestDetectorTypes: the detector types a policy may name are registered
// by the policy package itself, without a blank import elsewhere.
func TestDetectorTypes(t *testing.T) {
	if got := safety.DetectorTypes(); !slices.Contains(got, "pii") {
		t.Fatalf("registered detector types %v lack pii", got)
	}
}
