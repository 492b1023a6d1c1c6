package config

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPrecedence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "firebreak.yaml")
	yml := "listen: 127.0.0.1:9000\ndata: /from/file\nhttp:\n  read_timeout: 7s\nupstreams:\n  - name: a\n    base_url: http://127.0.0.1:1/v1\n    api_key_env: TEST_UPSTREAM_KEY\n    headers: {X-Org: acme}\n"
	if err := os.WriteFile(path, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_UPSTREAM_KEY", "sk-secret")
	c := Default()
	if err := LoadFile(path, &c); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"FIREBREAK_DATA": "/from/env", "FIREBREAK_READ_TIMEOUT": "9s"}
	if err := c.ApplyEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9000" {
		t.Errorf("listen = %q, want the file's value", c.Listen)
	}
	if c.Data != "/from/env" {
		t.Errorf("data = %q, want env to override the file", c.Data)
	}
	if c.HTTP.ReadTimeout != 9*time.Second {
		t.Errorf("read timeout = %v", c.HTTP.ReadTimeout)
	}
	if c.HTTP.ReadHeaderTimeout != 10*time.Second {
		t.Errorf("default read header timeout lost: %v", c.HTTP.ReadHeaderTimeout)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	out, err := c.Redacted().YAML()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "sk-secret") || strings.Contains(string(out), "acme") {
		t.Errorf("redacted config shows the upstream key or a header value:\n%s", out)
	}
	if c.Upstreams[0].APIKey != "sk-secret" {
		t.Error("Redacted changed the original")
	}
}

func TestLoadFileErrors(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"unknown key", "listne: x\n", "listne"},
		{"bad duration", "http:\n  read_timeout: soon\n", "soon"},
		{"bad yaml", "listen: [\n", "yaml"},
		{"literal api key", "upstreams:\n  - {name: a, base_url: 'http://x/v1', api_key: sk-1}\n", "api_key_env"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.yaml")
			os.WriteFile(path, []byte(tt.yaml), 0o600)
			c := Default()
			err := LoadFile(path, &c)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want mention of %q", err, tt.want)
			}
		})
	}
	t.Run("empty file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "c.yaml")
		os.WriteFile(path, nil, 0o600)
		c := Default()
		if err := LoadFile(path, &c); err != nil {
			t.Fatal(err)
		}
		if c.Listen != "127.0.0.1:8080" {
			t.Errorf("listen = %q", c.Listen)
		}
	})
}

// TestRedactedEverywhere: every string of the configuration a secret can
// hide in is redacted.
func TestRedactedEverywhere(t *testing.T) {
	c := Default()
	c.Database = "host=db user=app password=hunter2 dbname=fb"
	c.Redis = "redis://:hunter2@127.0.0.1:6379/0"
	c.Identity.SMSWebhook = "https://sms.example.com/send?token=hunter2"
	c.Identity.IDCheckWebhook = "https://ids.example.com/check?token=hunter2"
	c.Safety.Guard.BaseURL = "https://guard:hunter2@guard.example.com/v1"
	c.Grounding.Judge = Judge{BaseURL: "https://judge:hunter2@judge.example.com/v1", Model: "m", APIKeyEnv: "JUDGE_KEY"}
	c.Upstreams = []Upstream{{Name: "a", BaseURL: "https://u:hunter2@x.example.com/v1", APIKey: "hunter2",
		Headers: map[string]string{"X-Whatever": "hunter2"}, HeadersEnv: map[string]string{"Authorization": "UP_AUTH"}}}
	out, err := c.Redacted().YAML()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "hunter2") {
		t.Errorf("a secret shows:\n%s", out)
	}
	if !strings.Contains(string(out), "UP_AUTH") || !strings.Contains(string(out), "x.example.com") || !strings.Contains(string(out), "JUDGE_KEY") {
		t.Errorf("redaction hid what is not secret:\n%s", out)
	}
}

func TestEnvNames(t *testing.T) {
	for _, s := range Settings() {
		if !strings.HasPrefix(s.Env, "FIREBREAK_") || strings.ContainsAny(s.Env, "-abcdefghijklmnopqrstuvwxyz") {
			t.Errorf("setting %s has env %s", s.Flag, s.Env)
		}
	}
	if envName("log-level") != "FIREBREAK_LOG_LEVEL" {
		t.Error(envName("log-level"))
	}
}

func TestUpstreamDurations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(path, []byte("upstreams:\n  - name: a\n    base_url: http://127.0.0.1:1/v1\n    first_byte_timeout: 7s\n"), 0o600)
	c := Default()
	if err := LoadFile(path, &c); err != nil {
		t.Fatal(err)
	}
	if got := time.Duration(c.Upstreams[0].FirstByteTimeout); got != 7*time.Second {
		t.Fatalf("first_byte_timeout = %v", got)
	}
	var u Upstream
	if err := json.Unmarshal([]byte(`{"idle_timeout":"90s"}`), &u); err != nil || time.Duration(u.IdleTimeout) != 90*time.Second {
		t.Fatalf("json duration: %v %v", u.IdleTimeout, err)
	}
	b, _ := json.Marshal(u)
	if !strings.Contains(string(b), `"idle_timeout":"1m30s"`) {
		t.Errorf("marshal: %s", b)
	}
}

func TestGroundingJudge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(path, []byte("grounding:\n  judge:\n    base_url: http://127.0.0.1:8001/v1\n    model: qwen3-8b\n    api_key_env: JUDGE_KEY\n    timeout: 3s\n"), 0o600)
	c := Default()
	if err := LoadFile(path, &c); err != nil {
		t.Fatal(err)
	}
	if j := c.Grounding.Judge; j != (Judge{BaseURL: "http://127.0.0.1:8001/v1", Model: "qwen3-8b", APIKeyEnv: "JUDGE_KEY", Timeout: 3 * time.Second}) {
		t.Fatalf("grounding.judge = %+v", j)
	}
}
