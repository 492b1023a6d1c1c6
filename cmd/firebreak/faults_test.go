package main

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firebreak/firebreak/internal/fakeupstream"
	"github.com/firebreak/firebreak/store/storetest"
)

// readyz returns /readyz's status and body.
func readyz(t *testing.T, base string) (int, string) {
	t.Helper()
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// metricValue reads one series of /metrics; -1 when it is absent.
func metricValue(t *testing.T, base, series string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(get(t, base+"/metrics"))
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startRedis starts a redis-server of the test's own on a free loopback
// port (not the shared one, which other tests use) and returns its
// address and a func that stops it.
func startRedis(t *testing.T) (string, func()) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server is needed (Debian package redis-server): %v", err)
	}
	port := freePort(t)
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() { once.Do(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }) }
	t.Cleanup(stop)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	for i := 0; i < 200; i++ { // a bound: the server starts in milliseconds
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr, stop
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatal("redis-server did not start")
	return "", nil
}

func chatStatus(t *testing.T, s *server, key string) (int, string) {
	t.Helper()
	resp, b := s.chat(t, key, `{"model":"general","messages":[{"role":"user","content":"hello"}]}`)
	return resp.StatusCode, string(b)
}

func upstreamConfig(t *testing.T, extra string) string {
	t.Helper()
	up := fakeupstream.New(fakeupstream.Options{Default: fakeupstream.Reply{Text: "Hello there."}})
	t.Cleanup(up.Close)
	return memoryConfig(t, up.URL, extra)
}

// TestRedisDown stops the Redis that holds the limits of a key with a
// per-minute limit: fail open admits the requests and /readyz says
// "ready, degraded"; fail closed refuses them with a 503 and /readyz
// answers 503; both count the failures and show Redis down.
func TestRedisDown(t *testing.T) {
	for _, mode := range []string{"open", "closed"} {
		t.Run(mode, func(t *testing.T) {
			addr, stopRedis := startRedis(t)
			s := startServer(t, "--data", t.TempDir(), "--config", upstreamConfig(t, ""),
				"--redis", "redis://"+addr+"/0", "--redis-on-error", mode)
			s.mustCLI(t, "tenants", "create", "shop")
			key := regexp.MustCompile(`fbk_\S+`).FindString(s.mustCLI(t, "keys", "create", "shop", "--name", "web", "--rpm", "100"))
			if code, body := readyz(t, s.url); code != 200 || !strings.Contains(body, "redis: ok") {
				t.Fatalf("readyz with Redis up: %d %q", code, body)
			}
			if code, body := chatStatus(t, s, key); code != 200 {
				t.Fatalf("chat with Redis up: %d %s", code, body)
			}
			stopRedis()
			code, body := chatStatus(t, s, key)
			rcode, rbody := readyz(t, s.url)
			switch mode {
			case "open":
				if code != 200 {
					t.Errorf("fail open, Redis down: chat %d %s", code, body)
				}
				if rcode != 200 || !strings.HasPrefix(rbody, "ready, degraded\n") || !strings.Contains(rbody, "redis: down (limits fail open") {
					t.Errorf("fail open, Redis down: readyz %d %q", rcode, rbody)
				}
			case "closed":
				if code != 503 {
					t.Errorf("fail closed, Redis down: chat %d %s", code, body)
				}
				if rcode != 503 || !strings.Contains(rbody, "redis: down (limits fail closed") {
					t.Errorf("fail closed, Redis down: readyz %d %q", rcode, rbody)
				}
			}
			if v := metricValue(t, s.url, `firebreak_dependency_up{dependency="redis"}`); v != 0 {
				t.Errorf("firebreak_dependency_up redis = %v with Redis down", v)
			}
			if v := metricValue(t, s.url, "firebreak_limit_backend_errors_total"); v < 1 {
				t.Errorf("firebreak_limit_backend_errors_total = %v with Redis down", v)
			}
		})
	}
}

// tcpProxy forwards a loopback port to a server until cut: the database
// stays up for other tests while this replica loses it.
type tcpProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: target}
	t.Cleanup(p.cut)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(u, c); u.Close() }()
			go func() { _, _ = io.Copy(c, u); c.Close() }()
		}
	}()
	return p
}

// cut closes the listener and every connection through it.
func (p *tcpProxy) cut() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestDatabaseDown cuts the replica's PostgreSQL connections: /readyz
// answers 503 naming what requests get (no record, no answer), the
// request is refused rather than answered without its record, and the
// metrics show the store down and the failed record.
func TestDatabaseDown(t *testing.T) {
	dsn, err := url.Parse(storetest.PostgresDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := newTCPProxy(t, dsn.Host)
	dsn.Host = proxy.ln.Addr().String()
	s := startServer(t, "--data", t.TempDir(), "--database", dsn.String(), "--config", upstreamConfig(t, ""))
	if code, body := chatStatus(t, s, s.key); code != 200 {
		t.Fatalf("chat with the database up: %d %s", code, body)
	}
	if code, body := readyz(t, s.url); code != 200 || !strings.Contains(body, "store: ok") {
		t.Fatalf("readyz with the database up: %d %q", code, body)
	}
	proxy.cut()
	code, body := chatStatus(t, s, s.key)
	if code < 500 || strings.Contains(body, "Hello there.") {
		t.Errorf("database down: chat answered %d %s", code, body)
	}
	rcode, rbody := readyz(t, s.url)
	if rcode != 503 || !strings.Contains(rbody, "store: down (answers refused: no record, no answer)") {
		t.Errorf("database down: readyz %d %q", rcode, rbody)
	}
	if v := metricValue(t, s.url, `firebreak_dependency_up{dependency="store"}`); v != 0 {
		t.Errorf("firebreak_dependency_up store = %v with the database down", v)
	}
}

// TestGuardModelDown stops the guard model, configured to fail open but
// closed for category S1: the next request is refused on S1's behalf,
// /readyz answers 503 naming the categories that fail closed, and the
// metrics count a closed failure and show the guard down. With every
// category open, the request passes and /readyz says "ready, degraded".
func TestGuardModelDown(t *testing.T) {
	for _, tc := range []struct {
		name, categories, want string
		status                 int
	}{
		{"closed for S1", "    categories:\n      S1: {on_error: closed}\n", "guard: down (guard model fails closed for S1", 503},
		{"open", "", "guard: down (guard model fails open", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			guardModel := fakeupstream.New(fakeupstream.Options{Default: fakeupstream.Reply{Text: "safe"}})
			cfg := upstreamConfig(t, "safety:\n  guard:\n    base_url: "+guardModel.URL+"\n    model: llama-guard\n    timeout: 2s\n"+tc.categories)
			s := startServer(t, "--data", t.TempDir(), "--config", cfg)
			if code, body := chatStatus(t, s, s.key); code != 200 || !strings.Contains(body, "Hello there.") {
				t.Fatalf("guard up: chat %d %s", code, body)
			}
			if code, body := readyz(t, s.url); code != 200 || !strings.Contains(body, "guard: ok") {
				t.Fatalf("guard up: readyz %d %q", code, body)
			}
			guardModel.Close()
			_, body := chatStatus(t, s, s.key)
			refused := strings.Contains(body, `"finish_reason":"content_filter"`)
			if refused != (tc.status == 503) || strings.Contains(body, "Hello there.") == refused {
				t.Errorf("guard down: chat %s", body)
			}
			rcode, rbody := readyz(t, s.url)
			if rcode != tc.status || !strings.Contains(rbody, tc.want) {
				t.Errorf("guard down: readyz %d %q, want %d with %q", rcode, rbody, tc.status, tc.want)
			}
			mode := map[int]string{503: "closed", 200: "open"}[tc.status]
			if v := metricValue(t, s.url, `firebreak_guard_failures_total{mode="`+mode+`"}`); v < 1 {
				t.Errorf("firebreak_guard_failures_total{mode=%q} = %v", mode, v)
			}
			if v := metricValue(t, s.url, `firebreak_dependency_up{dependency="guard"}`); v != 0 {
				t.Errorf("firebreak_dependency_up guard = %v with the guard model down", v)
			}
		})
	}
}

// TestFrozenUpstream serves a model from two replicas, one of which
// accepts connections and never answers: with hedge_after and
// slow_first_byte set, every request is answered by the other, the frozen
// one is ejected after five slow attempts, /readyz says "ready, degraded"
// naming the ejection, and the metrics count the hedged attempts and the
// ejection.
func TestFrozenUpstream(t *testing.T) {
	frozen := fakeupstream.New(fakeupstream.Options{Default: fakeupstream.Reply{Text: "never", HeaderDelay: time.Minute}})
	t.Cleanup(frozen.Close)
	healthy := fakeupstream.New(fakeupstream.Options{Default: fakeupstream.Reply{Text: "Hello there."}})
	t.Cleanup(healthy.Close)
	cfg := filepath.Join(t.TempDir(), "firebreak.yaml")
	yml := "upstreams:\n" +
		"  - {name: frozen, base_url: " + frozen.URL + ", hedge_after: 100ms, slow_first_byte: 100ms}\n" +
		"  - {name: healthy, base_url: " + healthy.URL + ", hedge_after: 100ms, slow_first_byte: 100ms}\n" +
		"models:\n  - name: general\n    targets: [{upstream: frozen, model: m}, {upstream: healthy, model: m}]\n"
	if err := os.WriteFile(cfg, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--data", t.TempDir(), "--config", cfg)
	for i := range 16 {
		if code, body := chatStatus(t, s, s.key); code != 200 || !strings.Contains(body, "Hello there.") {
			t.Fatalf("request %d: %d %s", i, code, body)
		}
	}
	if n := len(frozen.Requests()); n != 5 {
		t.Errorf("the frozen replica received %d requests, want 5 before its ejection", n)
	}
	code, body := readyz(t, s.url)
	if code != 200 || !strings.HasPrefix(body, "ready, degraded\n") || !strings.Contains(body, "upstreams: down (a target is ejected") {
		t.Errorf("readyz %d %q", code, body)
	}
	if v := metricValue(t, s.url, `firebreak_upstream_ejections_total{upstream="frozen"}`); v != 1 {
		t.Errorf("ejections of the frozen replica = %v, want 1", v)
	}
	if v := metricValue(t, s.url, `firebreak_dependency_up{dependency="upstreams"}`); v != 0 {
		t.Errorf("firebreak_dependency_up upstreams = %v", v)
	}
}
