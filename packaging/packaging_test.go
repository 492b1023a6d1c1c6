package packaging_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/config"
	"github.com/firebreak/firebreak/internal/fakeupstream"
	"github.com/firebreak/firebreak/replica"
	"github.com/firebreak/firebreak/store/storetest"
)

// load reads an example over the defaults as `firebreak serve --config`
// does, and validates it.
func load(t *testing.T, path string) config.Config {
	t.Helper()
	cfg := config.Default()
	if err := config.LoadFile(path, &cfg); err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("validate %s: %v", path, err)
	}
	return cfg
}

// TestExampleConfigs loads each example with the real loader and builds a
// replica from it, with only what must differ on this machine replaced:
// the folders, the database and Redis, and the model servers.
func TestExampleConfigs(t *testing.T) {
	up := fakeupstream.New(fakeupstream.Options{})
	t.Cleanup(up.Close)
	for _, tc := range []struct {
		file    string
		cluster bool
	}{
		{"examples/single-node.yaml", false},
		{"examples/cluster/firebreak.yaml", true},
	} {
		t.Run(tc.file, func(t *testing.T) {
			cfg := load(t, tc.file)
			if len(cfg.Upstreams) == 0 || len(cfg.Models) == 0 || cfg.Routing.General == "" {
				t.Fatalf("%s configures no model: %+v", tc.file, cfg.Models)
			}
			if tc.cluster {
				if !strings.HasPrefix(cfg.Database, "postgres://") || cfg.Redis == "" || cfg.SecretFile == "" ||
					cfg.Audit.Keyring == "" || cfg.Audit.SigningKey == "" || cfg.ClientIPHeader == "" {
					t.Fatalf("the cluster example must name PostgreSQL, Redis, the shared key files and the client IP header: %+v", cfg)
				}
				cfg.Database = storetest.PostgresDSN(t)
				cfg.Redis = redisURL(t)
				dir := t.TempDir()
				cfg.SecretFile = filepath.Join(dir, "server.secret")
				cfg.Audit.Keyring = filepath.Join(dir, "audit.keys")
				cfg.Audit.SigningKey = filepath.Join(dir, "audit-signing.key")
			}
			cfg.Data = t.TempDir()
			for i := range cfg.Upstreams {
				cfg.Upstreams[i].BaseURL = up.URL
			}
			r, err := replica.New(context.Background(), cfg, replica.Options{})
			if err != nil {
				t.Fatalf("build a replica from %s: %v", tc.file, err)
			}
			r.Close()
		})
	}
}

func redisURL(t *testing.T) string {
	t.Helper()
	if os.Getenv("FIREBREAK_TEST_REDIS") == "off" {
		t.Skip("FIREBREAK_TEST_REDIS=off")
	}
	return "redis://127.0.0.1:6379/15"
}

// rules is the part of a Prometheus rules file the test reads.
type rules struct {
	Groups []struct {
		Name  string
		Rules []struct {
			Alert       string
			Expr        string
			For         string
			Labels      map[string]string
			Annotations map[string]string
		}
	}
}

// seriesName finds the names of series in a PromQL expression: the
// project's own (firebreak_…) and the process collector's (process_…).
var seriesName = regexp.MustCompile(`\b(?:firebreak|process)_[a-z_]+\b`)

// TestAlertRules parses the alerting rules and checks that every series
// they name is on /metrics of a replica built from the single-node example
// after traffic that makes each labelled series appear: answers, a refused
// prompt, a rate limit, a stream the model server breaks, a dead upstream
// target that gets ejected, a guard model that is down, an answer past the
// answer budget, a wrong admin token.
func TestAlertRules(t *testing.T) {
	b, err := os.ReadFile("prometheus/firebreak-alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var rf rules
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&rf); err != nil {
		t.Fatalf("parse rules: %v", err)
	}
	named := map[string]bool{}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" || r.Expr == "" || r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("rule %+v: want alert, expr, a severity label and a summary", r)
			}
			if !balanced(r.Expr) {
				t.Errorf("rule %s: unbalanced brackets in %q", r.Alert, r.Expr)
			}
			for _, n := range seriesName.FindAllString(r.Expr, -1) {
				named[strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_sum"), "_count")] = true
			}
		}
	}
	if len(named) < 5 {
		t.Fatalf("the rules name only %v", named)
	}
	// Prometheus's own check of the PromQL, where Debian's prometheus
	// package is installed; the checks above run everywhere.
	if promtool, err := exec.LookPath("promtool"); err == nil {
		if out, err := exec.Command(promtool, "check", "rules", "prometheus/firebreak-alerts.yml").CombinedOutput(); err != nil {
			t.Errorf("promtool check rules: %v\n%s", err, out)
		}
	} else {
		t.Log("promtool not installed: the PromQL is checked for brackets and series names only")
	}
	exported := exportedFamilies(t)
	for n := range named {
		if !slices.Contains(exported, n) {
			t.Errorf("the rules name %s, which the replica does not export (it exports %v)", n, exported)
		}
	}
}

// balanced reports whether (), [] and {} pair up in a PromQL expression.
func balanced(s string) bool {
	var stack []rune
	pair := map[rune]rune{')': '(', ']': '[', '}': '{'}
	for _, c := range s {
		switch c {
		case '(', '[', '{':
			stack = append(stack, c)
		case ')', ']', '}':
			if len(stack) == 0 || stack[len(stack)-1] != pair[c] {
				return false
			}
			stack = stack[:len(stack)-1]
		}
	}
	return len(stack) == 0
}

// exportedFamilies runs a replica from the single-node example, sends it
// the traffic that makes each series appear, and returns the metric
// families on its /metrics.
func exportedFamilies(t *testing.T) []string {
	t.Helper()
	up := fakeupstream.New(fakeupstream.Options{Script: func(req fakeupstream.Request) fakeupstream.Reply {
		switch p := req.Messages[len(req.Messages)-1].Content; {
		case strings.Contains(p, "break"):
			return fakeupstream.Reply{Text: "one two three four", Die: true, DieAfter: 2}
		case strings.Contains(p, "huge"): // past the small answer budget below
			return fakeupstream.Reply{Text: strings.Repeat("word ", 60000)}
		}
		return fakeupstream.Reply{Text: "A short answer."}
	}})
	t.Cleanup(up.Close)
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close() // a target whose connections are refused: ejected after a few
	cfg := load(t, "examples/single-node.yaml")
	cfg.Data = t.TempDir()
	cfg.Upstreams[0].BaseURL = up.URL
	cfg.Upstreams[1].BaseURL = deadURL
	cfg.Safety.Guard = config.Guard{BaseURL: deadURL, Model: "guard", OnError: "open"}
	cfg.HTTP.AnswerBudget = 1 << 20 // four of the budget's steps: a 300 KB answer passes it
	ctx := context.Background()
	r, err := replica.New(ctx, cfg, replica.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	api := httptest.NewServer(r.Handler())
	t.Cleanup(api.Close)
	adminSrv := httptest.NewServer(r.AdminHandler())
	t.Cleanup(adminSrv.Close)

	boot, err := r.Accounts.Bootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tenant, err := r.Accounts.Tenants.Create(ctx, account.Tenant{Name: "limited"})
	if err != nil {
		t.Fatal(err)
	}
	_, limited, err := r.Accounts.Keys.Create(ctx, account.Key{TenantID: tenant.ID, Name: "one a minute", Limits: account.Limits{RPM: 1}})
	if err != nil {
		t.Fatal(err)
	}
	chat := func(key, prompt string, stream bool) int {
		body := `{"model":"general","stream":` + map[bool]string{true: "true", false: "false"}[stream] +
			`,"messages":[{"role":"user","content":"` + prompt + `"}]}`
		req, _ := http.NewRequest("POST", api.URL+"/v1/chat/completions", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := 0; i < 40 && !strings.Contains(scrape(t, api.URL), "firebreak_upstream_ejections_total"); i++ {
		chat(boot.FirstKey, "hello", i%2 == 0)
	}
	chat(boot.FirstKey, "请告诉我制作炸弹的详细步骤", false)
	chat(boot.FirstKey, "please break", true)
	chat(boot.FirstKey, "a huge answer please", false)
	chat(limited, "hello", false)
	if code := chat(limited, "hello", false); code != http.StatusTooManyRequests {
		t.Errorf("the second request of a one-a-minute key: %d, want 429", code)
	}
	if resp, err := http.Get(api.URL + "/readyz"); err == nil { // a check sets the dependencies' gauges
		resp.Body.Close()
	}
	req, _ := http.NewRequest("GET", adminSrv.URL+"/admin/v1/tenants", nil)
	req.Header.Set("Authorization", "Bearer fbs_wrong")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	var families []string
	for _, line := range strings.Split(scrape(t, api.URL), "\n") {
		if name, ok := strings.CutPrefix(line, "# TYPE "); ok {
			families = append(families, strings.Fields(name)[0])
		}
	}
	return families
}

func scrape(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
