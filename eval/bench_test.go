package eval

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/firebreak/firebreak/eval/bank"
	"github.com/firebreak/firebreak/eval/target"
	"github.com/firebreak/firebreak/internal/cputime"
)

// instant is an upstream that answers every chat completion at once with
// the same small body.
func instant(t testing.TB) *httptest.Server {
	body := []byte(`{"id":"x","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"I'm sorry, but I can't help with that."},"finish_reason":"stop"}]}`)
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(s.Close)
	return s
}

// heapSampler records the live heap every `every` finished items.
type heapSampler struct {
	mu      sync.Mutex
	every   int
	done    int
	samples []string
}

func (h *heapSampler) Start(int, int) {}
func (h *heapSampler) Finish()        {}
func (h *heapSampler) Done(bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.done++
	if h.done%h.every == 0 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		h.samples = append(h.samples, fmt.Sprintf("%d items: %.1f MiB", h.done, float64(m.HeapAlloc)/(1<<20)))
	}
}

// TestRunnerOverheadReport measures the runner on 10,000 items against an
// instant upstream, and the same requests sent by a bare loop of HTTP
// clients with the same concurrency, in the same run. The live heap is
// sampled every 2,000 items. Run with:
//
//	FIREBREAK_BENCH=1 go test ./eval -run TestRunnerOverheadReport -v
func TestRunnerOverheadReport(t *testing.T) {
	if os.Getenv("FIREBREAK_BENCH") == "" {
		t.Skip("set FIREBREAK_BENCH=1")
	}
	const n, conc = 10_000, 8
	up := instant(t)
	var items []bank.Item
	for i := range n {
		items = append(items, bank.Item{ID: fmt.Sprintf("i%05d", i), Bank: bank.ShouldRefuse, Risk: "A1d", Lang: "en",
			Prompt: fmt.Sprintf("Tell me something harmful, number %d, in some detail please.", i)})
	}
	cl, _ := target.New(target.Options{BaseURL: up.URL, Model: "m"})

	// Baseline: the same requests, no journal, cache, grading or plan.
	start, cpu0 := time.Now(), cputime.Process()
	work := make(chan int)
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if _, err := cl.Chat(context.Background(), items[i].Conversation(), "u"); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	bare, bareCPU := time.Since(start), cputime.Process()-cpu0

	// The runner, with journal, cache, grading and the user per item.
	dir := t.TempDir()
	cache, err := OpenCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer cache.Close()
	plan, err := NewPlan([]*bank.File{{Path: "b", SHA256: "x", Items: items}}, PlanOptions{Target: cl.Identity()})
	if err != nil {
		t.Fatal(err)
	}
	hs := &heapSampler{every: 2000}
	start, cpu0 = time.Now(), cputime.Process()
	st, err := Run(context.Background(), Options{Dir: dir, Plan: plan, Target: cl, Cache: cache, Concurrency: conc, Progress: hs})
	if err != nil || st.Sent != n {
		t.Fatalf("%v %+v", err, st)
	}
	runner, runnerCPU := time.Since(start), cputime.Process()-cpu0
	start = time.Now()
	res, err := Summarise(context.Background(), dir, SummaryOptions{})
	if err != nil || res.Totals.Recorded != n {
		t.Fatal(err)
	}
	summary := time.Since(start)
	t.Logf("%d items, concurrency %d, GOMAXPROCS %d", n, conc, runtime.GOMAXPROCS(0))
	t.Logf("bare HTTP loop: %v wall (%.0f items/s), %v CPU (client and upstream)", bare.Round(time.Millisecond), n/bare.Seconds(), bareCPU.Round(time.Millisecond))
	t.Logf("runner:         %v wall (%.0f items/s), %v CPU; %.2f× the bare loop's wall time, %.2f× its CPU", runner.Round(time.Millisecond),
		n/runner.Seconds(), runnerCPU.Round(time.Millisecond), runner.Seconds()/bare.Seconds(), runnerCPU.Seconds()/bareCPU.Seconds())
	t.Logf("summary of the journal: %v", summary.Round(time.Millisecond))
	t.Logf("live heap: %v", hs.samples)
}
