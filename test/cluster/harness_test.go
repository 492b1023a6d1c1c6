package cluster_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/firebreak/firebreak/internal/fakeupstream"
	"github.com/firebreak/firebreak/internal/syncbuf"
	"github.com/firebreak/firebreak/store/storetest"
)

// cluster is three replicas of the firebreak binary behind nginx.
type cluster struct {
	bin      string
	config   string
	nodes    []*node
	lb       string // nginx's public address, http://127.0.0.1:port
	key      string // the first API key, of tenant "default"
	admin    string // a personal admin token of an admin
	upstream *upstreamScript
	// answers counts the load's requests that got a whole answer.
	answers int
}

// findNginx returns Debian's nginx. scripts/test installs it;
// FIREBREAK_TEST_NGINX=off skips the test on purpose.
func findNginx(t *testing.T) string {
	t.Helper()
	if os.Getenv("FIREBREAK_TEST_NGINX") == "off" {
		t.Skip("FIREBREAK_TEST_NGINX=off")
	}
	for _, p := range []string{"nginx", "/usr/sbin/nginx"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Fatal("nginx is not installed (apt-get install nginx-light; FIREBREAK_TEST_NGINX=off skips this test)")
	return ""
}

// startCluster builds the binary, writes one configuration for three
// replicas (a fresh PostgreSQL schema, the test Redis, shared key files,
// the fake upstream) and starts them and nginx.
func startCluster(t *testing.T, nginx string) *cluster {
	t.Helper()
	c := &cluster{upstream: &upstreamScript{}}
	up := fakeupstream.New(fakeupstream.Options{Script: c.upstream.reply})
	t.Cleanup(up.Close)
	redis := "redis://127.0.0.1:6379/0"
	if os.Getenv("FIREBREAK_TEST_REDIS") == "off" {
		t.Skip("FIREBREAK_TEST_REDIS=off")
	}
	dir := t.TempDir()
	c.bin = filepath.Join(dir, "firebreak")
	if out, err := exec.Command("go", "build", "-o", c.bin, "../../cmd/firebreak").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	c.config = filepath.Join(dir, "firebreak.yaml")
	cfg := fmt.Sprintf(`listen: 127.0.0.1:0
database: %[2]q
redis: %[3]q
client_ip_header: X-Real-IP
secret_file: %[1]s/keys/server.secret
audit:
  keyring: %[1]s/keys/audit.keys
  signing_key: %[1]s/keys/audit-signing.key
log:
  level: warn
upstreams:
  - {name: fake, base_url: %[4]q}
models:
  - {name: general, domain: general, targets: [{upstream: fake, model: fake-model}]}
routing:
  general: general
`, dir, storetest.PostgresDSN(t), redis, up.URL)
	if err := os.WriteFile(c.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	// The first replica creates the schema, the key files and the first
	// key and token; the others share them, as in docs/operations.md.
	first := c.start(t, "data-1")
	c.key = first.match(t, `API key:\s+(\S+)`)
	bootstrap := first.match(t, `Admin token:\s+(\S+)`)
	c.nodes = append(c.nodes, first)
	c.admin = bootstrap
	out := c.cli(t, first, "staff", "create", "--name", "alice", "--role", "admin", "--token", "cli")
	c.admin = submatch(t, out, `personal admin token \(shown only now\): (\S+)`)
	var wg sync.WaitGroup
	rest := make([]*node, 2)
	for i := range rest {
		data := fmt.Sprintf("data-%d", i+2)
		wg.Go(func() { rest[i] = c.start(t, data) })
	}
	wg.Wait()
	for _, n := range rest {
		if n == nil {
			t.FailNow()
		}
	}
	c.nodes = append(c.nodes, rest...)
	c.lb = startNginx(t, nginx, c.nodes)
	return c
}

// node is one running replica.
type node struct {
	cmd  *exec.Cmd
	url  string
	out  *syncbuf.Buffer
	done chan error
	gone bool
}

// start runs `firebreak serve` with the cluster's configuration and waits
// until it listens. It calls t.Error, not t.Fatal, so it may run in a
// goroutine; it returns nil then.
func (c *cluster) start(t *testing.T, data string) *node {
	t.Helper()
	n := &node{out: &syncbuf.Buffer{}, done: make(chan error, 1)}
	n.cmd = exec.Command(c.bin, "serve", "--config", c.config, "--data", filepath.Join(filepath.Dir(c.config), data))
	n.cmd.Stdout = n.out
	logs := &syncbuf.Buffer{}
	n.cmd.Stderr = logs
	if err := n.cmd.Start(); err != nil {
		t.Errorf("start: %v", err)
		return nil
	}
	go func() { n.done <- n.cmd.Wait() }()
	t.Cleanup(func() { n.kill(t) })
	listening := regexp.MustCompile(`Listening on (http://\S+)`)
	// A bound, not a measurement: the policy compiles at start, slowly on
	// a busy machine.
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if m := listening.FindStringSubmatch(n.out.String()); m != nil {
			n.url = m[1]
			return n
		}
		select {
		case err := <-n.done:
			n.gone = true
			t.Errorf("serve exited: %v\n%s\n%s", err, n.out, logs)
			return nil
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Errorf("serve did not start:\n%s\n%s", n.out, logs)
	return nil
}

func (n *node) match(t *testing.T, re string) string {
	t.Helper()
	return submatch(t, n.out.String(), re)
}

func submatch(t *testing.T, s, re string) string {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no %s in:\n%s", re, s)
	}
	return m[1]
}

// kill ends the replica with SIGKILL.
func (n *node) kill(t *testing.T) {
	if n.gone {
		return
	}
	n.gone = true
	_ = n.cmd.Process.Kill()
	<-n.done
}

// stop ends the replica as systemd does, with SIGTERM, and waits for its
// graceful shutdown.
func (n *node) stop(t *testing.T) {
	t.Helper()
	if n.gone {
		return
	}
	n.gone = true
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-n.done:
		if err != nil {
			t.Errorf("replica exited with %v", err)
		}
	case <-time.After(time.Minute):
		_ = n.cmd.Process.Kill()
		t.Error("replica did not stop within a minute of SIGTERM")
	}
}

// cli runs a management command against replica n with the admin token.
func (c *cluster) cli(t *testing.T, n *node, args ...string) string {
	t.Helper()
	cmd := exec.Command(c.bin, append(args, "--server", n.url, "--admin-token", c.admin)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("firebreak %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

// offline runs a command that works on the database directly.
func (c *cluster) offline(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(c.bin, append(args, "--config", c.config)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("firebreak %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

func (c *cluster) createKeyID(t *testing.T, name string, flags ...string) (secret, id string) {
	t.Helper()
	out := c.cli(t, c.nodes[0], append([]string{"keys", "create", "default", "--name", name}, flags...)...)
	return submatch(t, out, `shown only now:\s+(\S+)`), submatch(t, out, `Created key (\S+)\.`)
}

func (c *cluster) createKey(t *testing.T, name string, flags ...string) string {
	t.Helper()
	secret, _ := c.createKeyID(t, name, flags...)
	return secret
}

func (c *cluster) createStaff(t *testing.T, name, role string) string {
	t.Helper()
	out := c.cli(t, c.nodes[0], "staff", "create", "--name", name, "--role", role, "--token", "cli")
	return submatch(t, out, `personal admin token \(shown only now\): (\S+)`)
}

// servedByNode reads firebreak_requests_total, summed over its labels,
// from each replica's /metrics (a replica that is down counts 0).
func (c *cluster) servedByNode(t *testing.T) []float64 {
	t.Helper()
	out := make([]float64, len(c.nodes))
	for i, n := range c.nodes {
		if !n.gone {
			out[i] = c.metric(t, n, "firebreak_requests_total")
		}
	}
	return out
}

// metric returns the sum of a metric's series on replica n's /metrics.
func (c *cluster) metric(t *testing.T, n *node, name string) float64 {
	t.Helper()
	resp, err := http.Get(n.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ") {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			sum += v
		}
	}
	return sum
}

// startNginx runs Debian's nginx with packaging/examples/cluster/nginx.conf,
// its addresses replaced by the replicas' and two free loopback ports, and
// returns the public address.
func startNginx(t *testing.T, bin string, nodes []*node) string {
	t.Helper()
	site, err := os.ReadFile("../../packaging/examples/cluster/nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	var servers strings.Builder
	for _, n := range nodes {
		fmt.Fprintf(&servers, "    server %s max_fails=1 fail_timeout=5s;\n", strings.TrimPrefix(n.url, "http://"))
	}
	public, adminPort := freePort(t), freePort(t)
	var conf strings.Builder
	for _, line := range strings.SplitAfter(string(site), "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "server 10.0.1."):
			continue // the example's addresses
		case trimmed == "listen 80;":
			line = "    listen " + public + ";\n"
		case trimmed == "listen 127.0.0.1:9090;":
			line = "    listen " + adminPort + ";\n"
		}
		conf.WriteString(line)
		if strings.HasPrefix(trimmed, "upstream firebreak_") {
			conf.WriteString(servers.String())
		}
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "site.conf"), []byte(conf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;" // workers write nothing outside dir, which only root may enter
	}
	main := fmt.Sprintf(`%[2]s
worker_processes 1;
daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    include %[1]s/site.conf;
}
`, dir, user)
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "error.log"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := net.Dial("tcp", public)
		if err == nil {
			conn.Close()
			return "http://" + public
		}
		select {
		case err := <-done:
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx exited: %v\n%s%s", err, out.String(), log)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx does not listen on %s", public)
		}
	}
}

// freePort returns a loopback address that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
