package policy_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/policy"
	"github.com/firebreak/firebreak/safety"
)

// FuzzCompileBundle feeds the bundle compiler what an operator (or anyone
// holding the policy permission) can upload: a policy.yaml, a lexicon file
// and an allow-list file, all arbitrary. Compiling must never panic or
// hang; a bundle is either compiled or refused with an *InvalidError whose
// every problem names a file of the bundle; and a compiled bundle's engine
// reviews text without failing.
func FuzzCompileBundle(f *testing.F) {
	files := testFiles(f)
	f.Add(string(files[policy.SpecFile]), string(files["lexicons/a1.txt"]), string(files["allow.txt"]))
	f.Add("format: 1\nname: x\nlexicons: [{file: lexicons/a1.txt, code: A1a}]\n", "term\tA2b\trefuse\n", "")
	f.Add("format: 1\nname: x\nallow: [allow.txt]\nlexicons: [{file: lexicons/a1.txt}]\n", "bad term\n# comment\n\n", "good bad term\tbad term\n")
	f.Add("format: 1\nname: x\nrules: [{id: r, pattern: '(?i)a+b', code: A1h}]\n", "", "")
	f.Add("format: 1\nname: x\nnormalise: {max_gap: 3}\nreview: {roles: {tool: {directions: [input]}}}\n", "x", "")
	f.Add("format: 1\nname: x\nlexicons: [{file: lexicons/a1.txt, code: A1d}]\noverlays: {route:m: {lexicons: [{file: lexicons/a1.txt}]}}\n", "制作炸弹\nmeth\\nrecipe\n", "")
	f.Add("&a [*a, *a]", "", "")
	f.Add("format: 1\nname: x\nstrikes: {codes: [A1], ladder: [{total: 1, action: warn, duration: 1d}]}\n", "", "")
	f.Fuzz(func(t *testing.T, spec, lexicon, allow string) {
		in := map[string][]byte{
			policy.SpecFile:   []byte(spec),
			"lexicons/a1.txt": []byte(lexicon),
			"allow.txt":       []byte(allow),
		}
		b, err := policy.NewBundle(in)
		if err != nil {
			return // not UTF-8: refused before compiling
		}
		c, err := policy.CompileBundle(b)
		if err != nil {
			var inv *policy.InvalidError
			if !errors.As(err, &inv) {
				t.Fatalf("refused with %T %v, want *policy.InvalidError", err, err)
			}
			if len(inv.Problems) == 0 {
				t.Fatal("InvalidError with no problems")
			}
			for _, p := range inv.Problems {
				if p.File == "" || p.Msg == "" {
					t.Fatalf("problem %+v names no file or says nothing", p)
				}
				if _, ok := b.File(p.File); !ok && !strings.Contains(spec, p.File) {
					t.Fatalf("problem names %q, which is neither in the bundle nor named by the spec", p.File)
				}
			}
			return
		}
		if c == nil {
			t.Fatal("no error and no compiled bundle")
		}
		// The compiled engine must review anything, including the inputs.
		e := c.Engine("", "", false)
		for _, text := range []string{lexicon, allow, spec} {
			e.Check(safety.Input, text)
			e.Check(safety.Output, text)
		}
	})
}
