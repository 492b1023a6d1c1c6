package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/firebreak/firebreak/internal/fakeupstream"
	"github.com/firebreak/firebreak/internal/syncbuf"
)

// TestSecretsNeverShow plants a secret in every place one can be
// configured — upstream keys, header values and URL credentials (from the
// file, from the environment, through the admin API), the guard model's
// URL and key, the SMS webhook's query token and signing secret, the
// identity-token key, the server secret, the database and Redis DSNs —
// uses them, and then looks for each in everything the server shows: API
// answers, CLI output, --print-config, the log at debug level, /metrics
// and the database files.
func TestSecretsNeverShow(t *testing.T) {
	secrets := map[string]string{} // name → value; the names say where each was planted
	plant := func(name string) string {
		v := "PLANTED-" + name + "-7c1f"
		secrets[name] = v
		return v
	}
	up := fakeupstream.New(fakeupstream.Options{})
	t.Cleanup(up.Close)
	guardUp := fakeupstream.New(fakeupstream.Options{Default: fakeupstream.Reply{Text: "safe"}})
	t.Cleanup(guardUp.Close)
	var hookMu sync.Mutex
	var hookQuery []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hookMu.Lock()
		hookQuery = append(hookQuery, r.URL.Query().Get("token"))
		hookMu.Unlock()
	}))
	t.Cleanup(hook.Close)

	dir := t.TempDir()
	t.Setenv("FB_TEST_UPKEY", plant("UPSTREAM-KEY-ENV"))
	t.Setenv("FB_TEST_GUARDKEY", plant("GUARD-KEY-ENV"))
	t.Setenv("FB_TEST_SMSSECRET", plant("SMS-SIGNING-SECRET"))
	t.Setenv("FB_TEST_HDRENV", plant("HEADER-VIA-API-ENV"))
	serverSecret := plant("SERVER-SECRET-32-bytes-long-xx")
	t.Setenv("FIREBREAK_SECRET", hex.EncodeToString([]byte(serverSecret)))
	secrets["SERVER-SECRET-HEX"] = hex.EncodeToString([]byte(serverSecret))
	tokenKey := filepath.Join(dir, "hs256.key")
	os.WriteFile(tokenKey, []byte(plant("TOKEN-KEY-FILE-at-least-32-bytes")), 0o600)
	upURL := strings.Replace(up.URL, "http://", "http://fileuser:"+plant("UPSTREAM-URL-PASSWORD")+"@", 1)
	guardURL := strings.Replace(guardUp.URL, "http://", "http://"+plant("GUARD-URL-USER")+"@", 1)
	cfg := filepath.Join(dir, "firebreak.yaml")
	yml := `upstreams:
  - name: main
    base_url: ` + upURL + `
    api_key_env: FB_TEST_UPKEY
    headers: {X-Org-Secret: ` + plant("UPSTREAM-HEADER-FILE") + `}
models:
  - {name: general, targets: [{upstream: main, model: m}]}
routing: {general: general}
safety:
  guard: {base_url: '` + guardURL + `', model: llama-guard-3, api_key_env: FB_TEST_GUARDKEY}
identity:
  sms_webhook: '` + hook.URL + `/sms?token=` + plant("SMS-WEBHOOK-QUERY-TOKEN") + `'
  sms_webhook_secret_env: FB_TEST_SMSSECRET
  token_keys: [` + tokenKey + `]
`
	if err := os.WriteFile(cfg, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	logs := &syncbuf.Buffer{}
	s := startServerLogged(t, logs, "--data", data, "--config", cfg, "--log-level", "debug", "--log-format", "json")
	shown := map[string]string{"first start": s.stdout.String()} // where → text

	// Use every secret: a chat (upstream key, header; guard key), a phone
	// verification (webhook token and signature).
	if resp, body := s.chat(t, s.key, `{"model":"general","messages":[{"role":"user","content":"hi"}],"user":"u1"}`); resp.StatusCode != 200 {
		t.Fatalf("chat: %d %s", resp.StatusCode, body)
	} else {
		shown["chat"] = string(body)
	}
	shown["phone start"] = s.apiCall(t, "POST", "/v1/identity/phone/start", s.key, `{"user":"u1","phone":"13800138000"}`)
	// Through the admin API, header values and URL credentials are refused;
	// a header from the environment is accepted and used.
	shown["refused url credentials"] = s.apiCall(t, "PUT", "/admin/v1/upstreams/leaky", s.admin,
		`{"base_url":"http://u:`+plant("API-URL-PASSWORD")+`@127.0.0.1:1/v1"}`)
	shown["refused header"] = s.apiCall(t, "PUT", "/admin/v1/upstreams/leaky", s.admin,
		`{"base_url":"http://127.0.0.1:1/v1","headers":{"X-Token":"`+plant("API-HEADER-VALUE")+`"}}`)
	for _, k := range []string{"refused url credentials", "refused header"} {
		if !strings.Contains(shown[k], `"error"`) {
			t.Errorf("%s: accepted: %s", k, shown[k])
		}
	}
	shown["cli set"] = s.mustCLI(t, "upstreams", "set", "viaapi", "--base-url", up.URL, "--header-env", "X-Token=FB_TEST_HDRENV")
	s.mustCLI(t, "models", "set", "second", "--target", "viaapi:m")
	if resp, body := s.chat(t, s.key, `{"model":"second","messages":[{"role":"user","content":"hi"}]}`); resp.StatusCode != 200 {
		t.Fatalf("chat through the API's upstream: %d %s", resp.StatusCode, body)
	}
	reqs := up.Requests()
	if len(reqs) != 2 || reqs[0].Header.Get("Authorization") != "Bearer "+secrets["UPSTREAM-KEY-ENV"] ||
		reqs[0].Header.Get("X-Org-Secret") != secrets["UPSTREAM-HEADER-FILE"] || reqs[1].Header.Get("X-Token") != secrets["HEADER-VIA-API-ENV"] {
		t.Fatalf("the upstream did not get the configured secrets: %+v", reqs)
	}
	if g := guardUp.Requests(); len(g) == 0 || g[0].Header.Get("Authorization") != "Bearer "+secrets["GUARD-KEY-ENV"] {
		t.Fatal("the guard model did not get its key")
	}
	hookMu.Lock()
	if len(hookQuery) != 1 || hookQuery[0] != secrets["SMS-WEBHOOK-QUERY-TOKEN"] {
		t.Fatalf("the SMS webhook got %q", hookQuery)
	}
	hookMu.Unlock()

	// Everything the server shows.
	shown["api upstreams"] = s.apiCall(t, "GET", "/admin/v1/upstreams", s.admin, "")
	shown["api health"] = s.apiCall(t, "GET", "/admin/v1/health", s.admin, "")
	shown["cli upstreams"] = s.mustCLI(t, "upstreams", "list")
	shown["cli upstreams json"] = s.mustCLI(t, "upstreams", "list", "--json")
	shown["metrics"] = s.apiCall(t, "GET", "/metrics", "", "")
	if !strings.Contains(shown["api upstreams"], "FB_TEST_HDRENV") || !strings.Contains(shown["cli upstreams"], "viaapi") {
		t.Fatalf("listings lost what is not secret:\n%s\n%s", shown["api upstreams"], shown["cli upstreams"])
	}
	var printed bytes.Buffer
	err := run(context.Background(), []string{"serve", "--config", cfg, "--print-config",
		"--database", "postgres://app:" + plant("DATABASE-URL-PASSWORD") + "@db:5432/fb",
		"--redis", "redis://:" + plant("REDIS-PASSWORD") + "@127.0.0.1:6379/0"}, &printed, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	shown["print-config"] = printed.String()
	printed.Reset()
	err = run(context.Background(), []string{"serve", "--config", cfg, "--print-config",
		"--database", "host=db user=app password=" + plant("DATABASE-KV-PASSWORD") + " dbname=fb"}, &printed, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	shown["print-config key=value"] = printed.String()
	s.stop(t)
	shown["log"] = logs.String()
	databaseFiles(t, data, shown)
	for where, text := range shown {
		for name, v := range secrets {
			if strings.Contains(text, v) {
				t.Errorf("%s shows the secret planted as %s", where, name)
			}
		}
	}
	if !strings.Contains(shown["print-config"], "db:5432") || !strings.Contains(shown["log"], "request") {
		t.Error("the scanned output is not what it should be")
	}
}

// apiCall sends a request with a bearer token and returns the body.
func (s *server) apiCall(t *testing.T, method, path, token, body string) string {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// databaseFiles adds the text of every database file in the data folder
// (the SQLite file, its WAL and shared memory) to shown, as "file NAME".
func databaseFiles(t *testing.T, data string, shown map[string]string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(data, "*.db*"))
	if len(files) == 0 {
		t.Fatal("no database files")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		shown["file "+filepath.Base(f)] = string(b)
	}
}
