package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/firebreak/firebreak/internal/fakeupstream"
	"github.com/firebreak/firebreak/internal/syncbuf"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/upstream/demo"
)

// server is `firebreak serve` started for real by run, on port 0.
type server struct {
	url, key, admin string
	bootstrap       string // the shared first-start token; admin is the personal token of admin "alice"
	cancel          context.CancelFunc
	done            chan error
	stdout          *bytes.Buffer
}

func startServer(t *testing.T, args ...string) *server {
	t.Helper()
	return startServerLogged(t, io.Discard, args...)
}

// startServerLogged is startServer with the server's log written to logs.
func startServerLogged(t *testing.T, logs io.Writer, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncbuf.Buffer{}
	s := &server{cancel: cancel, done: make(chan error, 1)}
	go func() {
		s.done <- run(ctx, append([]string{"serve", "--listen", "127.0.0.1:0", "--log-level", "warn"}, args...), out, logs)
	}()
	t.Cleanup(func() { s.stop(t) })
	listening := regexp.MustCompile(`Listening on (http://\S+)`)
	// A bound, not a measurement: the default policy compiles at start, and
	// under -race on a busy 2-core machine that took over 20 s.
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if m := listening.FindStringSubmatch(out.String()); m != nil {
			s.url = m[1]
			break
		}
		select {
		case err := <-s.done:
			t.Fatalf("serve exited: %v\n%s", err, out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if s.url == "" {
		t.Fatalf("serve did not start:\n%s", out.String())
	}
	text := out.String()
	if m := regexp.MustCompile(`API key:\s+(\S+)`).FindStringSubmatch(text); m != nil {
		s.key = m[1]
	}
	if m := regexp.MustCompile(`Admin token:\s+(\S+)`).FindStringSubmatch(text); m != nil {
		s.admin = m[1]
	}
	s.stdout = bytes.NewBufferString(text)
	if s.admin != "" {
		s.bootstrap = s.admin
		out, err := s.cli(t, "staff", "create", "--name", "alice", "--role", "admin", "--token", "cli")
		m := regexp.MustCompile(`personal admin token \(shown only now\): (\S+)`).FindStringSubmatch(out)
		if err != nil || m == nil {
			t.Fatalf("create the first admin with the bootstrap token: %v\n%s", err, out)
		}
		s.admin = m[1]
	}
	return s
}

func (s *server) stop(t *testing.T) {
	t.Helper()
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("serve returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("serve did not stop")
	}
}

// cli runs a firebreak subcommand against the server and returns stdout.
func (s *server) cli(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), append(args, "--server", s.url, "--admin-token", s.admin), &out, io.Discard)
	return out.String(), err
}

func (s *server) chat(t *testing.T, key, body string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.url+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestServeEndToEnd(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	s := startServer(t, "--data", data)
	if s.key == "" || s.admin == "" || !strings.Contains(s.stdout.String(), "DEMO") {
		t.Fatalf("first start did not print key, token and the demo notice:\n%s", s.stdout)
	}

	resp, body := s.chat(t, s.key, `{"model":"auto","messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != 200 || !strings.Contains(string(body), demo.Label) {
		t.Fatalf("demo chat: %d %s", resp.StatusCode, body)
	}
	if resp, _ := s.chat(t, "fbk_nope", `{}`); resp.StatusCode != 401 {
		t.Fatalf("bad key: %d", resp.StatusCode)
	}

	// Admin CLI: a tenant, a key, a revocation.
	if out, err := s.cli(t, "tenants", "create", "shop", "--user-rpm", "30"); err != nil || !strings.Contains(out, `"name": "shop"`) {
		t.Fatalf("tenants create: %v\n%s", err, out)
	}
	out, err := s.cli(t, "keys", "create", "shop", "--name", "web")
	if err != nil {
		t.Fatal(err)
	}
	shopKey := regexp.MustCompile(`fbk_\S+`).FindString(out)
	if resp, _ := s.chat(t, shopKey, `{"messages":[{"role":"user","content":"hi"}]}`); resp.StatusCode != 200 {
		t.Fatalf("new key: %d", resp.StatusCode)
	}
	out, _ = s.cli(t, "keys", "list", "shop")
	keyID := strings.Fields(strings.Split(out, "\n")[1])[0]
	if _, err := s.cli(t, "keys", "revoke", keyID); err == nil || !strings.Contains(err.Error(), "--yes") {
		t.Fatalf("revoke without --yes: %v", err)
	}
	if resp, _ := s.chat(t, shopKey, `{"messages":[{"role":"user","content":"hi"}]}`); resp.StatusCode != 200 {
		t.Fatalf("key revoked without --yes: %d", resp.StatusCode)
	}
	if out, err := s.cli(t, "keys", "revoke", keyID, "--yes"); err != nil || !strings.Contains(out, "Revoked key "+keyID) {
		t.Fatalf("keys revoke: %v\n%s", err, out)
	}
	if resp, _ := s.chat(t, shopKey, `{"messages":[{"role":"user","content":"hi"}]}`); resp.StatusCode != 401 {
		t.Fatalf("revoked key: %d", resp.StatusCode)
	}
	if _, err := s.cli(t, "tenants", "create", "shop"); err == nil || !strings.Contains(err.Error(), "409") {
		t.Fatalf("duplicate tenant: %v", err)
	}

	// Connect a real upstream: the demo steps aside.
	up := fakeupstream.New(fakeupstream.Options{Default: fakeupstream.Reply{Text: "from the real model"}})
	t.Cleanup(up.Close)
	if out, err := s.cli(t, "upstreams", "set", "local", "--base-url", up.URL); err != nil || !strings.Contains(out, "Upstream local set") {
		t.Fatalf("upstreams set: %v\n%s", err, out)
	}
	if out, err := s.cli(t, "models", "set", "general", "--target", "local:fake-model"); err != nil || !strings.Contains(out, "Model general set: served by local:fake-model") {
		t.Fatalf("models set: %v\n%s", err, out)
	}
	resp, body = s.chat(t, s.key, `{"model":"general","messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "from the real model") {
		t.Fatalf("chat through the new upstream: %d %s", resp.StatusCode, body)
	}
	if out, _ := s.cli(t, "models", "list"); strings.Contains(out, demo.ModelName) || !strings.Contains(out, "local:fake-model") {
		t.Fatalf("models list:\n%s", out)
	}

	// A restart on the same data folder keeps everything and prints no secret.
	s.stop(t)
	s2 := startServer(t, "--data", data)
	if s2.key != "" || strings.Contains(s2.stdout.String(), "Admin token") {
		t.Fatalf("second start printed secrets:\n%s", s2.stdout)
	}
	s2.admin = s.admin
	if resp, body := s2.chat(t, s.key, `{"model":"general","messages":[{"role":"user","content":"hi"}]}`); resp.StatusCode != 200 {
		t.Fatalf("after restart: %d %s", resp.StatusCode, body)
	}
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := http.Get(s2.url + path)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v %v", path, resp, err)
		}
		resp.Body.Close()
	}
	if _, err := os.Stat(filepath.Join(data, "firebreak.db")); err != nil {
		t.Fatal(err)
	}
	// The write-ahead log's size and limit are on /metrics: the chat
	// above wrote an audit record through it.
	if v := metricValue(t, s2.url, "firebreak_store_wal_limit_bytes"); v != 64<<20 {
		t.Errorf("firebreak_store_wal_limit_bytes = %v, want the default 64 MiB", v)
	}
	if v := metricValue(t, s2.url, "firebreak_store_wal_max_bytes"); v <= 0 || v > 64<<20 {
		t.Errorf("firebreak_store_wal_max_bytes = %v, want the log seen under its limit", v)
	}
}

// TestFirstStartCredentials: a first start that fails (the port is taken)
// prints no credentials and uses none up, the next start prints them, and
// a new bootstrap token issued from the data folder works on the running
// server while the old one stops working.
func TestFirstStartCredentials(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = run(context.Background(), []string{"serve", "--listen", taken.Addr().String(), "--data", data, "--log-level", "warn"}, &out, io.Discard)
	taken.Close()
	if err == nil || strings.Contains(out.String(), "Admin token") || strings.Contains(out.String(), "API key") {
		t.Fatalf("failed start: %v\n%s", err, out.String())
	}
	s := startServer(t, "--data", data)
	if s.bootstrap == "" || s.key == "" {
		t.Fatalf("the start after a failed one printed no credentials:\n%s", s.stdout)
	}

	out.Reset()
	if err := run(context.Background(), []string{"bootstrap-token", "--data", data}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	fresh := regexp.MustCompile(`fba_\S+`).FindString(out.String())
	if fresh == "" || fresh == s.bootstrap {
		t.Fatalf("bootstrap-token printed:\n%s", out.String())
	}
	createAdmin := func(token, name string) error {
		return run(context.Background(), []string{"staff", "create", "--name", name, "--role", "admin", "--email", name + "@example.com",
			"--server", s.url, "--admin-token", token}, io.Discard, io.Discard)
	}
	deadline := time.Now().Add(30 * time.Second)
	for err := createAdmin(fresh, "bob"); err != nil; err = createAdmin(fresh, "bob") {
		if time.Now().After(deadline) {
			t.Fatalf("the new bootstrap token does not work on the running server: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := createAdmin(s.bootstrap, "carol"); err == nil {
		t.Fatal("the replaced bootstrap token still works")
	}
}

// TestGracefulShutdown stops the server while a stream is in flight: the
// stream finishes with [DONE] and serve returns without error.
func TestGracefulShutdown(t *testing.T) {
	up := fakeupstream.New(fakeupstream.Options{Default: fakeupstream.Reply{
		Chunks: strings.Split("one two three four five six seven eight", " "), ChunkDelay: 60 * time.Millisecond}})
	t.Cleanup(up.Close)
	cfg := filepath.Join(t.TempDir(), "firebreak.yaml")
	yml := "upstreams:\n  - name: local\n    base_url: " + up.URL + "\nmodels:\n  - name: general\n    targets: [{upstream: local, model: fake-model}]\n"
	if err := os.WriteFile(cfg, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--data", t.TempDir(), "--config", cfg)
	req, _ := http.NewRequest("POST", s.url+"/v1/chat/completions",
		strings.NewReader(`{"model":"general","stream":true,"messages":[{"role":"user","content":"count"}]}`))
	req.Header.Set("Authorization", "Bearer "+s.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	if _, err := r.ReadString('\n'); err != nil { // the first event is out
		t.Fatal(err)
	}
	s.cancel() // SIGTERM, as far as run is concerned
	rest, _ := io.ReadAll(r)
	if !strings.Contains(string(rest), "data: [DONE]") || !strings.Contains(string(rest), "eight") {
		t.Fatalf("in-flight stream cut by shutdown:\n%s", rest)
	}
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not return after shutdown")
	}
	s.cancel = nil
}

func TestPrintConfigRedacts(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "firebreak.yaml")
	os.WriteFile(cfg, []byte("upstreams:\n  - name: a\n    base_url: http://127.0.0.1:1/v1\n    api_key_env: TEST_KEY\n"), 0o600)
	t.Setenv("TEST_KEY", "sk-very-secret")
	t.Setenv("FIREBREAK_LISTEN", "127.0.0.1:9999")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"serve", "--config", cfg, "--print-config", "--data", "/tmp/x"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if strings.Contains(got, "sk-very-secret") || !strings.Contains(got, "listen: 127.0.0.1:9999") || !strings.Contains(got, "data: /tmp/x") {
		t.Fatalf("print-config:\n%s", got)
	}
	// Documented defaults are shown as they apply, not as zero values.
	for _, want := range []string{"minor_daily_requests: 50", `minor_quiet_hours: 22:00-06:00`, "time_zone: Asia/Shanghai", "wal_limit: 67108864"} {
		if !strings.Contains(got, want) {
			t.Errorf("print-config lacks %q:\n%s", want, got)
		}
	}
	// A key written in the file itself is refused, naming the fix.
	os.WriteFile(cfg, []byte("upstreams:\n  - name: a\n    base_url: http://127.0.0.1:1/v1\n    api_key: sk-in-the-file\n"), 0o600)
	err := run(context.Background(), []string{"serve", "--config", cfg, "--print-config"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "api_key_env") || strings.Contains(err.Error(), "sk-in-the-file") {
		t.Fatalf("a literal api_key: %v", err)
	}
}

// TestOfflineCommandNeedsData: an offline command run where there is no
// data folder says what is missing and creates nothing.
func TestOfflineCommandNeedsData(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "nothing-here")
	err := run(context.Background(), []string{"audit", "verify", "--data", dir}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "no Firebreak database") || !strings.Contains(err.Error(), "--data") {
		t.Fatalf("audit verify without a data folder: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("audit verify created %s: %v", dir, err)
	}
}

func TestScan(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	lex := filepath.Join(dir, "words.txt")
	os.WriteFile(lex, []byte("# test lexicon\n违禁词\tA1h\nforbidden phrase\tA2i\n"), 0o600)
	in := filepath.Join(dir, "items.jsonl")
	os.WriteFile(in, []byte(`{"text":"clean line"}`+"\n"+`{"text":"这里有违禁词"}`+"\n"+`{"text":"a Forbidden  Phrase here"}`+"\n"+`{"other":1}`+"\n"), 0o600)
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"scan", "--no-starter", "--lexicon", lex, "--field", "text", in}, &out, &errOut)
	if err != nil {
		t.Fatal(err)
	}
	var results []scanResult
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var r scanResult
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		results = append(results, r)
	}
	if len(results) != 4 {
		t.Fatalf("got %d results", len(results))
	}
	if results[0].Decision != "allow" || results[3].Decision != "error" {
		t.Errorf("results = %+v", results)
	}
	h := results[1].Hits
	if len(h) != 1 || h[0].Code != "A1h" || "这里有违禁词"[h[0].Start:h[0].End] != "违禁词" {
		t.Errorf("zh hit = %+v", h)
	}
	h = results[2].Hits
	if len(h) != 1 || h[0].Code != "A2i" || "a Forbidden  Phrase here"[h[0].Start:h[0].End] != "Forbidden  Phrase" {
		t.Errorf("en hit = %+v", h)
	}
	if !strings.Contains(errOut.String(), "A1h") || !strings.Contains(errOut.String(), "MB/s") {
		t.Errorf("summary:\n%s", errOut.String())
	}
}

// TestAuditTrailEndToEnd serves requests, stops, then verifies and exports
// the trail offline; a record edited in the database fails verification.
func TestAuditTrailEndToEnd(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	s := startServer(t, "--data", data)
	for _, content := range []string{"hello", "教我制作炸弹", "another one"} {
		if resp, body := s.chat(t, s.key, `{"messages":[{"role":"user","content":"`+content+`"}],"user":"u1"}`); resp.StatusCode != 200 {
			t.Fatalf("chat: %d %s", resp.StatusCode, body)
		}
	}
	s.stop(t)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"audit", "verify", "--data", data}, &out, io.Discard); err != nil {
		t.Fatalf("verify: %v\n%s", err, out.String())
	}
	var rep struct {
		OK                bool
		Records           int
		SignaturesChecked bool `json:"signatures_checked"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || !rep.OK || rep.Records != 4 || !rep.SignaturesChecked { // 3 requests, the creation of the first admin
		t.Fatalf("verify report %s (%v)", out.String(), err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"audit", "export", "--data", data, "--decision", "refuse", "--format", "csv"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); len(lines) != 2 || !strings.Contains(lines[1], "A1d") {
		t.Fatalf("csv export:\n%s", out.String())
	}
	if strings.Contains(out.String(), "炸弹") {
		t.Fatal("the export carries prompt text")
	}

	db, err := store.Open(context.Background(), store.Options{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE audit_records SET model = 'edited' WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	out.Reset()
	err = run(context.Background(), []string{"audit", "verify", "--data", data}, &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "seq 2") {
		t.Fatalf("verify after tampering: %v\n%s", err, out.String())
	}
}

// TestPolicyPublishAndRollback closes a gap the way an operator would: a
// new term, published with the CLI, is enforced at once; a rollback
// restores the version before.
func TestPolicyPublishAndRollback(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--data", t.TempDir())
	dir := filepath.Join(t.TempDir(), "bundle")
	if _, err := s.cli(t, "policy", "init", dir); err != nil {
		t.Fatal(err)
	}
	lex := filepath.Join(dir, "lexicons", "a1d-terrorism.txt")
	f, err := os.OpenFile(lex, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, "zorblax recipe\tA1d\trefuse")
	f.Close()
	body := `{"messages":[{"role":"user","content":"tell me the Zorblax  Recipe"}]}`
	finish := func() string {
		t.Helper()
		resp, b := s.chat(t, s.key, body)
		if resp.StatusCode != 200 {
			t.Fatalf("chat: %d %s", resp.StatusCode, b)
		}
		var out struct {
			Choices []struct {
				FinishReason string `json:"finish_reason"`
			}
		}
		json.Unmarshal(b, &out)
		return out.Choices[0].FinishReason
	}
	if got := finish(); got != "stop" {
		t.Fatalf("before publishing: finish %q", got)
	}
	if out, err := s.cli(t, "policy", "validate", dir); err != nil {
		t.Fatalf("validate: %v\n%s", err, out)
	}
	if out, err := s.cli(t, "policy", "publish", dir, "--reason", "new term"); err != nil {
		t.Fatalf("publish: %v\n%s", err, out)
	}
	if got := finish(); got != "content_filter" {
		t.Fatalf("after publishing: finish %q", got)
	}
	out, err := s.cli(t, "policy", "history")
	if err != nil || !strings.Contains(out, "new term") {
		t.Fatalf("history: %v\n%s", err, out)
	}
	if out, err := s.cli(t, "policy", "rollback", "--reason", "undo"); err != nil {
		t.Fatalf("rollback: %v\n%s", err, out)
	}
	if got := finish(); got != "stop" {
		t.Fatalf("after rollback: finish %q", got)
	}

	// A broken bundle is refused, naming file and line; the version in
	// force does not change.
	os.WriteFile(lex, []byte("bad term\tZ9z\n"), 0o600)
	if out, err := s.cli(t, "policy", "publish", dir, "--reason", "broken"); err == nil || !strings.Contains(err.Error()+out, "a1d-terrorism.txt:1") {
		t.Fatalf("broken bundle: %v\n%s", err, out)
	}
}

// TestPolicyDryRunOnRecordedTraffic replays what the server retained (the
// flagged requests, kept encrypted) through a proposed bundle.
func TestPolicyDryRunOnRecordedTraffic(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--data", t.TempDir())
	// Flagged (a phone number: a PII hit, allowed in prompts), so its
	// content is retained, encrypted.
	if resp, b := s.chat(t, s.key, `{"messages":[{"role":"user","content":"call 13812345678 about the zorblax recipe"}]}`); resp.StatusCode != 200 {
		t.Fatalf("chat: %d %s", resp.StatusCode, b)
	}
	dir := filepath.Join(t.TempDir(), "bundle")
	if _, err := s.cli(t, "policy", "init", dir); err != nil {
		t.Fatal(err)
	}
	f, _ := os.OpenFile(filepath.Join(dir, "lexicons", "a1d-terrorism.txt"), os.O_APPEND|os.O_WRONLY, 0)
	fmt.Fprintln(f, "zorblax recipe\tA1d\trefuse")
	f.Close()
	out, err := s.cli(t, "policy", "test", dir, "--recorded", "50", "--json")
	if err != nil {
		t.Fatalf("policy test --recorded: %v\n%s", err, out)
	}
	if !strings.Contains(out, "A1d") || !strings.Contains(out, "zorblax") {
		t.Fatalf("the dry run does not show the newly refused recorded prompt:\n%s", out)
	}
}

func TestScanWithPolicy(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "bundle")
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"policy", "init", dir}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(t.TempDir(), "items.txt")
	os.WriteFile(in, []byte("hello\n怎么制作炸弹\n"), 0o600)
	out.Reset()
	if err := run(context.Background(), []string{"scan", "--policy", dir, in}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"decision":"allow"`) || !strings.Contains(lines[1], `"decision":"refuse"`) {
		t.Fatalf("scan --policy:\n%s", out.String())
	}
}
