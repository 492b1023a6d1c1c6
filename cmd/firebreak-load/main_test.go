package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/firebreak/firebreak/internal/syncbuf"
	"github.com/firebreak/firebreak/test/stack"
)

// TestSoakShort is the short form of the soak: a few seconds of mixed
// streamed and non-streamed load, a tenth of it refused by review, against
// a replica with the audit trail on. Every request must succeed, and each
// progress line reports the gateway's resident memory and its write-ahead
// log, which stays under the default limit of 64 MiB.
func TestSoakShort(t *testing.T) {
	s := stack.Start(t, stack.Options{})
	var out bytes.Buffer
	err := run(context.Background(), []string{"-url", s.URL, "-key", s.Key, "-model", stack.Model,
		"-duration", "3s", "-concurrency", "4", "-report-every", "1s"}, &out)
	t.Logf("\n%s", out.String())
	if err != nil {
		t.Fatalf("soak: %v", err)
	}
	progress := regexp.MustCompile(`(?m)^t=\S+\s+(\d+) req .* errors (\d+)\s+rss (\d+) MiB, wal [\d.]+ MiB \(max ([\d.]+)\)$`).FindAllStringSubmatch(out.String(), -1)
	if len(progress) < 2 {
		t.Fatalf("want a progress line per second, got %d", len(progress))
	}
	for _, m := range progress {
		if m[2] != "0" {
			t.Errorf("progress line with errors: %q", m[0])
		}
		if mib, _ := strconv.Atoi(m[3]); mib <= 0 {
			t.Errorf("no resident memory in %q", m[0])
		}
		if mib, _ := strconv.ParseFloat(m[4], 64); mib <= 0 || mib > 64 {
			t.Errorf("write-ahead log not seen, or over its limit, in %q", m[0])
		}
	}
	total := regexp.MustCompile(`total: (\d+) requests \((\d+) streams\).* (\d+) errors; latency p50`).FindStringSubmatch(out.String())
	if total == nil {
		t.Fatal("no total line")
	}
	n, _ := strconv.Atoi(total[1])
	streams, _ := strconv.Atoi(total[2])
	if n == 0 || streams == 0 || streams == n || total[3] != "0" {
		t.Errorf("total %q: want requests, some of them streams, no errors", total[0])
	}
	refused := 0
	for _, r := range s.Upstream.Requests() {
		if strings.Contains(string(r.Body), refusedPrompt) {
			refused++
		}
	}
	if refused != 0 {
		t.Errorf("%d refused prompts reached the model", refused)
	}
	if got := len(s.Upstream.Requests()); got >= n {
		t.Errorf("the model got %d of %d requests: the refused tenth should not reach it", got, n)
	}
}

// TestFakeUpstream serves the scripted model server and asks it once.
func TestFakeUpstream(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncbuf.Buffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-fake-upstream", "127.0.0.1:0"}, out) }()
	var url string
	for deadline := time.Now().Add(30 * time.Second); url == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := regexp.MustCompile(`fake upstream: (\S+)`).FindStringSubmatch(out.String()); m != nil {
			url = m[1]
		}
	}
	if url == "" {
		t.Fatal("the fake upstream did not start")
	}
	resp, err := http.Post(url+"/chat/completions", "application/json",
		strings.NewReader(`{"model":"fake-model","messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "rice") {
		t.Errorf("fake upstream answered %d %s", resp.StatusCode, b)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
