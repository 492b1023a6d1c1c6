// The dependency rules of the house, enforced by asking the go command
// what every package of the module depends on (in the style of
// tailscale's deptest). A rule names the packages it governs and the
// packages (of the module or of the standard library) they must not
// depend on, directly or through others.
package firebreak_test

import (
	"bufio"
	"bytes"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/firebreak/firebreak"

// rule forbids the packages matching from (except those matching except)
// to depend on any package matching forbid. A pattern is a package path
// relative to the module ("gateway"), or a subtree ("store/..."), or a
// standard-library path prefixed with "std:" ("std:net/http").
type rule struct {
	why    string
	from   []string
	except []string
	forbid []string
}

// surfaces are the packages that speak HTTP to clients and operators, and
// the wiring above them.
var surfaces = []string{"gateway/...", "admin/...", "openai/...", "console/...", "replica/...", "cmd/..."}

var rules = []rule{
	{
		why:  "the safety engine is a pure library: text in, decision out",
		from: []string{"safety/..."},
		// The guard-model client calls a model server over HTTP; it is the
		// engine's one door to the network and stays outside the engine.
		except: []string{"safety/guard/..."},
		forbid: append([]string{"std:net", "std:net/http", "std:database/sql", "std:log", "std:log/slog", "std:os/exec",
			"store/...", "notify/...", "account/...", "policy/...", "sanction/...", "identity/...", "audit/..."}, surfaces...),
	},
	{
		why: "domains return clienterr errors and never reach up to a surface",
		from: []string{"account/...", "audit/...", "catalog/...", "identity/...", "label/...", "limit/...", "notify/...",
			"policy/...", "sanction/...", "staff/...", "upstream/...", "corpus/...", "eval/...", "config/...", "kb/...", "review/..."},
		forbid: surfaces,
	},
	{
		why:    "storage knows no domain",
		from:   []string{"store/..."},
		except: []string{"store/storetest/..."},
		forbid: []string{"account/...", "audit/...", "catalog/...", "identity/...", "label/...", "limit/...", "notify/...",
			"policy/...", "sanction/...", "staff/...", "upstream/...", "safety/...", "gateway/...", "admin/...", "openai/...",
			"console/...", "replica/...", "config/...", "kb/...", "review/..."},
	},
	{
		why:    "the support check is pure text, shared by the gateway and the evaluator",
		from:   []string{"kb/support/..."},
		forbid: append([]string{"std:net", "std:net/http", "std:database/sql", "std:log/slog", "store/...", "notify/..."}, surfaces...),
	},
	{
		why:    "the judge-model client speaks to a model server and nothing else: no store, no logger (it returns errors without content)",
		from:   []string{"kb/judge/..."},
		forbid: append([]string{"std:database/sql", "std:log/slog", "store/...", "notify/...", "audit/..."}, surfaces...),
	},
	{
		why:    "the client-safe error type belongs to no surface and no domain",
		from:   []string{"clienterr/..."},
		forbid: []string{"..."},
	},
	{
		why:    "the OpenAI wire format knows only the client-safe error type",
		from:   []string{"openai/..."},
		forbid: []string{"account/...", "audit/...", "catalog/...", "identity/...", "label/...", "limit/...", "notify/...", "policy/...", "sanction/...", "staff/...", "store/...", "safety/...", "upstream/..."},
	},
	{
		why:    "tracing exports spans; it knows no part of the project",
		from:   []string{"tracing/..."},
		forbid: []string{"..."},
	},
	{
		why:    "the client address is read the same way by every surface and knows nothing of them",
		from:   []string{"internal/clientip/..."},
		forbid: []string{"..."},
	},
	{
		why:    "the load generator is a client of the HTTP API, like any application",
		from:   []string{"internal/loadgen/..."},
		forbid: []string{"..."},
	},
	{
		why:    "one composition root: only the command and the tests build a replica",
		from:   []string{"..."},
		except: []string{"cmd/...", "test/...", "replica/..."},
		forbid: []string{"replica/..."},
	},
}

// match reports whether pkg (a full import path) matches pattern.
func match(pattern, pkg string) bool {
	if std, ok := strings.CutPrefix(pattern, "std:"); ok {
		return pkg == std
	}
	rel, ok := strings.CutPrefix(pkg, module)
	if !ok {
		return false
	}
	rel = strings.TrimPrefix(rel, "/")
	if pattern == "..." {
		return rel != ""
	}
	if sub, ok := strings.CutSuffix(pattern, "/..."); ok {
		return rel == sub || strings.HasPrefix(rel, sub+"/")
	}
	return rel == pattern
}

func matchAny(patterns []string, pkg string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool { return match(p, pkg) })
}

// violations returns "pkg -> dep (why)" for every dependency that breaks a
// rule; deps maps each package to everything it depends on.
func violations(rules []rule, deps map[string][]string) []string {
	var out []string
	for _, r := range rules {
		for pkg, ds := range deps {
			if !matchAny(r.from, pkg) || matchAny(r.except, pkg) {
				continue
			}
			for _, d := range ds {
				if d != pkg && matchAny(r.forbid, d) {
					out = append(out, strings.TrimPrefix(pkg, module+"/")+" -> "+strings.TrimPrefix(d, module+"/")+" ("+r.why+")")
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// moduleDeps asks the go command for every package of the module and all
// it depends on (not counting tests).
func moduleDeps(t *testing.T) map[string][]string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go tool not found")
	}
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}{{range .Deps}} {{.}}{{end}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 0 {
			deps[f[0]] = f[1:]
		}
	}
	if len(deps) < 20 || len(deps[module+"/replica"]) == 0 {
		t.Fatalf("go list listed %d packages: not the whole module", len(deps))
	}
	return deps
}

func TestDependencyRules(t *testing.T) {
	t.Parallel()
	for _, v := range violations(rules, moduleDeps(t)) {
		t.Error(v)
	}
}

// TestDependencyRulesCatch shows that each kind of forbidden import is
// caught: the rules run over a module where it was added.
func TestDependencyRulesCatch(t *testing.T) {
	t.Parallel()
	p := func(rel string) string { return module + "/" + rel }
	tests := []struct {
		name string
		pkg  string
		dep  string
	}{
		{"engine imports net/http", p("safety/lexicon"), "net/http"},
		{"engine imports a domain", p("safety"), p("policy")},
		{"domain imports a surface", p("account"), p("gateway")},
		{"domain imports the wire format", p("sanction"), p("openai")},
		{"the review desk imports a surface", p("review"), p("console")},
		{"storage imports a domain", p("store"), p("account")},
		{"wire format imports a domain", p("openai"), p("policy")},
		{"a part builds its own replica", p("gateway"), p("replica")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			deps := map[string][]string{tt.pkg: {"fmt", tt.dep}}
			if got := violations(rules, deps); len(got) == 0 {
				t.Errorf("%s -> %s is not caught", tt.pkg, tt.dep)
			}
			allowed := map[string][]string{p("gateway"): {p("openai"), p("account")}, p("replica"): {p("gateway")},
				p("openai"): {p("clienterr")}, p("safety/guard"): {"net/http"}}
			if got := violations(rules, allowed); len(got) != 0 {
				t.Errorf("allowed imports reported: %v", got)
			}
		})
	}
}
