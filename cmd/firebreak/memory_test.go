package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/firebreak/firebreak/internal/fakeupstream"
)

// bigStreams is an upstream whose every answer streams more than limit
// bytes of plain text in 16 KiB chunks, as a model that never stops would.
func bigStreams(t *testing.T, limit int64) *fakeupstream.Server {
	t.Helper()
	piece := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 364) // 16,380 bytes
	chunks := make([]string, limit/int64(len(piece))+2)
	for i := range chunks {
		chunks[i] = piece
	}
	up := fakeupstream.New(fakeupstream.Options{Default: fakeupstream.Reply{Chunks: chunks}})
	t.Cleanup(up.Close)
	return up
}

func memoryConfig(t *testing.T, upURL, extra string) string {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "firebreak.yaml")
	yml := "upstreams:\n  - name: local\n    base_url: " + upURL + "\nmodels:\n  - name: general\n    targets: [{upstream: local, model: fake-model}]\n" + extra
	if err := os.WriteFile(cfg, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

var errorCode = regexp.MustCompile(`"code":"([a-z_]+)"`)

// streamOutcome sends one streamed chat request and says how it ended:
// "done", the code of the error event that ended it, or "<status> <code>"
// when it was refused before any event.
func streamOutcome(url, key string) string {
	req, _ := http.NewRequest("POST", url+"/v1/chat/completions",
		strings.NewReader(`{"model":"general","stream":true,"messages":[{"role":"user","content":"write forever"}]}`))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "transport: " + err.Error()
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		m := errorCode.FindSubmatch(b)
		if m == nil {
			return strconv.Itoa(resp.StatusCode)
		}
		return strconv.Itoa(resp.StatusCode) + " " + string(m[1])
	}
	// Only the end of the stream matters: keep its last 4 KiB.
	var tail []byte
	buf := make([]byte, 64<<10)
	for {
		n, err := resp.Body.Read(buf)
		tail = append(tail, buf[:n]...)
		if len(tail) > 4096 {
			tail = tail[len(tail)-4096:]
		}
		if err != nil {
			break
		}
	}
	if strings.Contains(string(tail), "data: [DONE]") {
		return "done"
	}
	if m := errorCode.FindSubmatch(tail); m != nil {
		return string(m[1])
	}
	return "cut"
}

// concurrentStreams runs n streams at once and counts their outcomes.
func concurrentStreams(url, key string, n int) map[string]int {
	var mu sync.Mutex
	out := map[string]int{}
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := streamOutcome(url, key)
			mu.Lock()
			out[o]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// TestAnswerBudgetBoundsMemory runs the real binary with an 8 MiB content
// cap and a 96 MiB answer budget and sends eight streams at once that
// each run past the cap: the process's peak resident memory over the
// load (VmHWM, reset before it) grows by less than the budget, each
// stream ends at the cap with answer_too_large or is refused with a 503
// gateway_overloaded, and the refusals show in the metrics.
func TestAnswerBudgetBoundsMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and loads the real binary")
	}
	const answerCap, budget = 8 << 20, 96 << 20
	up := bigStreams(t, answerCap)
	cfg := memoryConfig(t, up.URL, fmt.Sprintf("http:\n  max_answer_bytes: %d\n  answer_budget: %d\n  budget_wait: 100ms\n", answerCap, budget))
	p := startProc(t, sharedBinary(t), "--data", t.TempDir(), "--config", cfg)
	if o := streamOutcome(p.url, p.key); o != "answer_too_large" { // warm up: pools, policy caches
		t.Fatalf("a stream past the cap ended %q, want answer_too_large", o)
	}
	before := p.statusKB(t, "VmRSS")
	p.resetPeak(t)
	out := concurrentStreams(p.url, p.key, 8)
	peak := p.statusKB(t, "VmHWM")
	t.Logf("outcomes %v; resident %d MiB before, peak %d MiB (+%d MiB; budget %d MiB)",
		out, before>>10, peak>>10, (peak-before)>>10, budget>>20)
	if grew := (peak - before) << 10; grew > budget {
		t.Errorf("peak resident memory grew by %d MiB under load, more than the %d MiB budget", grew>>20, budget>>20)
	}
	if out["answer_too_large"] == 0 || out["answer_too_large"]+out["503 gateway_overloaded"]+out["gateway_overloaded"] != 8 {
		t.Errorf("outcomes %v: want each stream ended at the cap or refused as overloaded", out)
	}
	if out["503 gateway_overloaded"]+out["gateway_overloaded"] == 0 {
		t.Errorf("outcomes %v: eight streams at the cap fit a budget of three", out)
	}
	metrics := get(t, p.url+"/metrics")
	if !regexp.MustCompile(`firebreak_answer_budget_refusals_total\{when="(admit|grow)"\} [1-9]`).MatchString(metrics) {
		t.Errorf("no budget refusal in the metrics:\n%s", grepLines(metrics, "answer_budget"))
	}
	if !strings.Contains(metrics, "firebreak_answer_budget_bytes 0") {
		t.Errorf("budget still held after every answer ended:\n%s", grepLines(metrics, "answer_budget"))
	}
}

// TestMemoryReport prints the peak resident memory of the real binary
// serving 1, 4 and 8 streams at once that run to the default 32 MiB
// content cap (docs/benchmarks.md). FIREBREAK_MEMORY_BIN measures another
// build; FIREBREAK_MEMORY_ARGS adds arguments to serve.
func TestMemoryReport(t *testing.T) {
	if os.Getenv("FIREBREAK_BENCH") == "" {
		t.Skip("a measurement: FIREBREAK_BENCH=1")
	}
	bin := os.Getenv("FIREBREAK_MEMORY_BIN")
	if bin == "" {
		bin = sharedBinary(t)
	}
	up := bigStreams(t, 32<<20)
	cfg := memoryConfig(t, up.URL, "")
	args := append([]string{"--data", t.TempDir(), "--config", cfg}, strings.Fields(os.Getenv("FIREBREAK_MEMORY_ARGS"))...)
	p := startProc(t, bin, args...)
	for _, n := range []int{1, 4, 8} {
		before := p.statusKB(t, "VmRSS")
		p.resetPeak(t)
		out := concurrentStreams(p.url, p.key, n)
		peak := p.statusKB(t, "VmHWM")
		t.Logf("%d streams: resident %d MiB before, peak %d MiB (+%d MiB, %d MiB per stream); outcomes %v",
			n, before>>10, peak>>10, (peak-before)>>10, (peak-before)>>10/int64(n), out)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func grepLines(text, sub string) string {
	var b strings.Builder
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}
