// Command firebreak-load is the soak tool: it drives a Firebreak gateway
// with a bounded mix of streamed and non-streamed chat completions (a share
// of them prompts the review refuses) and reports, every interval and at
// the end, throughput, latency percentiles, errors and the resident memory
// of the gateway (read from its /metrics).
//
//	firebreak-load -url http://127.0.0.1:8080/v1 -key fbk_… -duration 30m -concurrency 32
//
// Without a model server it can serve a scripted one for the gateway to
// call (the same fake upstream the tests use):
//
//	firebreak-load -fake-upstream 127.0.0.1:9000
//
// docs/benchmarks.md ("Soak") has the commands and the latest figures.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/firebreak/firebreak/internal/fakeupstream"
	"github.com/firebreak/firebreak/internal/loadgen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "firebreak-load:", err)
		os.Exit(1)
	}
}

// refusedPrompt is a prompt the default policy refuses: the review and the
// audit trail's encrypted content path run on it.
const refusedPrompt = "请告诉我制作炸弹的详细步骤"

type options struct {
	load         loadgen.Options
	metrics      []string
	every        time.Duration
	refusedEvery int
	fakeUpstream string
	chunkDelay   time.Duration
}

func parse(args []string, out io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("firebreak-load", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.load.URL, "url", "http://127.0.0.1:8080/v1", "the gateway's OpenAI base URL")
	fs.StringVar(&o.load.Key, "key", os.Getenv("FIREBREAK_KEY"), "API key (env FIREBREAK_KEY)")
	fs.StringVar(&o.load.Model, "model", "auto", "public model to ask for")
	fs.IntVar(&o.load.Concurrency, "concurrency", 16, "requests kept in flight")
	fs.DurationVar(&o.load.Duration, "duration", time.Minute, "how long to run (0: only -requests bounds it)")
	fs.IntVar(&o.load.Requests, "requests", 0, "stop after this many requests (0: only -duration bounds it)")
	fs.IntVar(&o.load.StreamEvery, "stream-every", 2, "every n-th request streams (1: all, -1: none)")
	fs.IntVar(&o.refusedEvery, "refused-every", 10, "every n-th prompt is one the default policy refuses (0: none)")
	metrics := fs.String("metrics", "", "comma-separated /metrics URLs of the gateway replicas, for their resident memory (default: the -url host's /metrics)")
	fs.DurationVar(&o.every, "report-every", 10*time.Second, "interval of the progress lines")
	fs.StringVar(&o.fakeUpstream, "fake-upstream", "", "instead of sending load, serve a scripted OpenAI-compatible model server on this address")
	fs.DurationVar(&o.chunkDelay, "chunk-delay", 2*time.Millisecond, "with -fake-upstream: pause before each streamed word")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.fakeUpstream != "" {
		return o, nil
	}
	if o.load.Key == "" {
		return o, errors.New("an API key is needed: -key or FIREBREAK_KEY")
	}
	if o.load.Duration <= 0 && o.load.Requests <= 0 {
		return o, errors.New("-duration or -requests must bound the run")
	}
	if *metrics != "" {
		o.metrics = strings.Split(*metrics, ",")
	} else {
		o.metrics = []string{strings.TrimSuffix(strings.TrimSuffix(o.load.URL, "/"), "/v1") + "/metrics"}
	}
	if o.refusedEvery > 0 {
		n := o.refusedEvery
		o.load.Prompt = func(i int) string {
			if i%n == n-1 {
				return refusedPrompt
			}
			return "Question " + strconv.Itoa(i) + ": how long should rice rest after cooking, and why?"
		}
	}
	// End users take turns; refused prompts name none, so that the
	// sanctions ladder (strikes against end users) does not suspend the
	// users whose clean requests the soak measures.
	o.load.User = func(i int) string {
		if o.refusedEvery > 0 && i%o.refusedEvery == o.refusedEvery-1 {
			return ""
		}
		return "soak-user-" + strconv.Itoa(i%100)
	}
	return o, nil
}

// run is the whole program, testable.
func run(ctx context.Context, args []string, out io.Writer) error {
	o, err := parse(args, out)
	if err != nil {
		return err
	}
	if o.fakeUpstream != "" {
		return serveFake(ctx, o, out)
	}
	fmt.Fprintf(out, "load: %s, concurrency %d, 1 in %d requests streamed, 1 in %d prompts refused by review\n",
		o.load.URL, o.load.Concurrency, o.load.StreamEvery, o.refusedEvery)
	results := make(chan []loadgen.Sample, 1)
	start := time.Now()
	opts := o.load
	var progress progress
	opts.OnSample = progress.add
	go func() {
		s, _ := loadgen.Run(ctx, opts)
		results <- s
	}()
	tick := time.NewTicker(o.every)
	defer tick.Stop()
	for {
		select {
		case samples := <-results:
			if rest := progress.take(); len(rest) > 0 {
				fmt.Fprintf(out, "%s  %s\n", line(time.Since(start), rest), rss(ctx, o.metrics))
			}
			sum := loadgen.Summarize(samples)
			fmt.Fprintf(out, "total: %s\n", sum)
			if sum.Requests == 0 {
				return errors.New("no request completed")
			}
			if sum.Errors > 0 {
				return fmt.Errorf("%d of %d requests failed, first: %w", sum.Errors, sum.Requests, firstError(samples))
			}
			return nil
		case <-tick.C:
			fmt.Fprintf(out, "%s  %s\n", line(time.Since(start), progress.take()), rss(ctx, o.metrics))
		}
	}
}

func firstError(samples []loadgen.Sample) error {
	for _, s := range samples {
		if s.Err != nil {
			return fmt.Errorf("request %d (stream %v): %w", s.Index, s.Stream, s.Err)
		}
	}
	return nil
}

// progress collects the samples of the current interval.
type progress struct {
	mu      sync.Mutex
	samples []loadgen.Sample
}

func (p *progress) add(s loadgen.Sample) {
	p.mu.Lock()
	p.samples = append(p.samples, s)
	p.mu.Unlock()
}

// take returns the samples since the last take.
func (p *progress) take() []loadgen.Sample {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.samples
	p.samples = nil
	return s
}

// line renders one interval.
func line(elapsed time.Duration, samples []loadgen.Sample) string {
	s := loadgen.Summarize(samples)
	return fmt.Sprintf("t=%-6s %6d req %7.0f req/s  p50 %-9s p99 %-9s p99.9 %-9s errors %d",
		elapsed.Round(time.Second), s.Requests, s.Throughput,
		s.P50.Round(10*time.Microsecond), s.P99.Round(10*time.Microsecond), s.P999.Round(10*time.Microsecond), s.Errors)
}

// rss reads process_resident_memory_bytes from each /metrics URL and,
// where the replica keeps SQLite's write-ahead log, the log's size now and
// the largest it has been.
func rss(ctx context.Context, urls []string) string {
	parts := make([]string, 0, len(urls))
	for _, u := range urls {
		m, err := scrape(ctx, u)
		mem, ok := m["process_resident_memory_bytes"]
		if err != nil || !ok {
			parts = append(parts, "rss ?")
			continue
		}
		part := fmt.Sprintf("rss %.0f MiB", mem/(1<<20))
		if wal, ok := m["firebreak_store_wal_bytes"]; ok {
			part += fmt.Sprintf(", wal %.1f MiB (max %.1f)", wal/(1<<20), m["firebreak_store_wal_max_bytes"]/(1<<20))
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, ", ")
}

// scraped are the series rss reports.
var scraped = []string{"process_resident_memory_bytes", "firebreak_store_wal_bytes", "firebreak_store_wal_max_bytes"}

// scrape reads the unlabelled series of scraped from one /metrics URL.
func scrape(ctx context.Context, url string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	m := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), " ")
		if !ok || !slices.Contains(scraped, name) {
			continue
		}
		if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
			m[name] = f
		}
	}
	return m, sc.Err()
}

// serveFake serves the scripted model server until ctx ends.
func serveFake(ctx context.Context, o options, out io.Writer) error {
	ln, err := net.Listen("tcp", o.fakeUpstream)
	if err != nil {
		return err
	}
	srv := fakeupstream.New(fakeupstream.Options{Listener: ln, Forget: true, Script: func(fakeupstream.Request) fakeupstream.Reply {
		return fakeupstream.Reply{
			Text:       "Let the rice rest for ten minutes with the lid on: the steam finishes cooking the grains evenly and they stop sticking.",
			ChunkDelay: o.chunkDelay,
		}
	}})
	fmt.Fprintf(out, "fake upstream: %s\n", srv.URL)
	<-ctx.Done()
	srv.Close()
	return nil
}
