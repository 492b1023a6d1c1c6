// Package loadgen drives a Firebreak gateway (or any OpenAI-compatible
// server) with a bounded, closed-loop mix of streamed and non-streamed
// chat completions, and keeps the outcome of every request: when it
// started and ended, its status, and whether a stream ended with [DONE].
// The soak tool (cmd/firebreak-load) and the multi-node test use it.
package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a run. The zero value of each field has the default
// documented with it.
type Options struct {
	// URL is the base URL of the OpenAI API, ending in /v1. Required.
	URL string
	// Key is the bearer API key. Required.
	Key string
	// Model is the public model asked for. Default "auto".
	Model string
	// Concurrency is the number of requests kept in flight. Default 8.
	Concurrency int
	// Duration bounds the run. Default 0: only Requests bounds it.
	Duration time.Duration
	// Requests bounds the number of requests. Default 0: only Duration
	// bounds it. With neither set, Run sends 100 requests.
	Requests int
	// StreamEvery makes every n-th request a stream. Default 2 (half);
	// 1 streams every request; -1 none.
	StreamEvery int
	// Prompt returns the user message of request i. Default: a short
	// benign question with i in it.
	Prompt func(i int) string
	// User, when set, names the end user of request i (the body's "user").
	User func(i int) string
	// OnSample, when set, is called with each sample as it completes, from
	// the sending goroutines. Default nil.
	OnSample func(Sample)
	// Client sends the requests. Default: a client with enough idle
	// connections for Concurrency.
	Client *http.Client
}

// Sample is the outcome of one request.
type Sample struct {
	Index  int
	Stream bool
	Start  time.Time
	End    time.Time
	Status int   // 0 when no response arrived
	Err    error // transport error, a stream without [DONE], or a non-200 status
}

// Latency is the time from sending the request to its last byte.
func (s Sample) Latency() time.Duration { return s.End.Sub(s.Start) }

// Run sends requests until the bound is reached or ctx ends, and returns
// every sample in the order they finished.
func Run(ctx context.Context, o Options) ([]Sample, error) {
	if o.URL == "" || o.Key == "" {
		return nil, errors.New("loadgen: URL and Key are required")
	}
	o = o.withDefaults()
	if o.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Duration)
		defer cancel()
	}
	var next atomic.Int64
	var mu sync.Mutex
	var out []Sample
	var wg sync.WaitGroup
	for range o.Concurrency {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if o.Requests > 0 && i >= o.Requests {
					return
				}
				s := o.one(ctx, i)
				if ctx.Err() != nil && o.Duration > 0 && s.Err != nil {
					return // cut off by the end of the run, not a failure
				}
				if o.OnSample != nil {
					o.OnSample(s)
				}
				mu.Lock()
				out = append(out, s)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return out, nil
}

func (o Options) withDefaults() Options {
	if o.Model == "" {
		o.Model = "auto"
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	if o.Duration <= 0 && o.Requests <= 0 {
		o.Requests = 100
	}
	if o.StreamEvery == 0 {
		o.StreamEvery = 2
	}
	if o.Prompt == nil {
		o.Prompt = func(i int) string {
			return "Question " + strconv.Itoa(i) + ": what is a good way to learn to cook rice?"
		}
	}
	if o.Client == nil {
		o.Client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.Concurrency * 2, MaxIdleConns: o.Concurrency * 2}}
	}
	return o
}

// one sends request i and reads its whole answer.
func (o Options) one(ctx context.Context, i int) Sample {
	s := Sample{Index: i, Stream: o.StreamEvery > 0 && i%o.StreamEvery == 0, Start: time.Now()}
	body := o.body(i, s.Stream)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.URL+"/chat/completions", bytes.NewReader(body))
	if err != nil {
		s.Err, s.End = err, time.Now()
		return s
	}
	req.Header.Set("Authorization", "Bearer "+o.Key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := o.Client.Do(req)
	if err != nil {
		s.Err, s.End = err, time.Now()
		return s
	}
	defer resp.Body.Close()
	s.Status = resp.StatusCode
	switch {
	case resp.StatusCode != http.StatusOK:
		_, _ = io.Copy(io.Discard, resp.Body)
		s.Err = fmt.Errorf("status %d", resp.StatusCode)
	case s.Stream:
		s.Err = readStream(resp.Body)
	default:
		_, s.Err = io.Copy(io.Discard, resp.Body)
	}
	s.End = time.Now()
	return s
}

func (o Options) body(i int, stream bool) []byte {
	var b bytes.Buffer
	b.WriteString(`{"model":`)
	b.WriteString(strconv.Quote(o.Model))
	if stream {
		b.WriteString(`,"stream":true`)
	}
	if o.User != nil {
		if u := o.User(i); u != "" {
			b.WriteString(`,"user":`)
			b.WriteString(strconv.Quote(u))
		}
	}
	b.WriteString(`,"messages":[{"role":"user","content":`)
	b.WriteString(strconv.Quote(o.Prompt(i)))
	b.WriteString(`}]}`)
	return b.Bytes()
}

// errNoDone is a stream that ended without its [DONE] line: the gateway
// sent an error event, or the connection broke.
var errNoDone = errors.New("stream ended without [DONE]")

// readStream reads a server-sent event stream to its end and reports
// whether it ended with [DONE].
func readStream(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	done := false
	for sc.Scan() {
		if bytes.Equal(bytes.TrimSpace(sc.Bytes()), []byte("data: [DONE]")) {
			done = true
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if !done {
		return errNoDone
	}
	return nil
}

// Summary is what a run amounts to.
type Summary struct {
	Requests   int
	Errors     int
	Streams    int
	Wall       time.Duration // first start to last end
	Throughput float64       // requests per second over Wall
	P50        time.Duration
	P99        time.Duration
	P999       time.Duration
	Max        time.Duration
}

// Summarize computes a Summary of samples.
func Summarize(samples []Sample) Summary {
	var s Summary
	if len(samples) == 0 {
		return s
	}
	lat := make([]time.Duration, 0, len(samples))
	first, last := samples[0].Start, samples[0].End
	for _, x := range samples {
		s.Requests++
		if x.Err != nil {
			s.Errors++
		}
		if x.Stream {
			s.Streams++
		}
		if x.Start.Before(first) {
			first = x.Start
		}
		if x.End.After(last) {
			last = x.End
		}
		lat = append(lat, x.Latency())
	}
	slices.Sort(lat)
	s.Wall = last.Sub(first)
	if s.Wall > 0 {
		s.Throughput = float64(s.Requests) / s.Wall.Seconds()
	}
	s.P50, s.P99, s.P999 = quantile(lat, 0.50), quantile(lat, 0.99), quantile(lat, 0.999)
	s.Max = lat[len(lat)-1]
	return s
}

// quantile returns the q-quantile of sorted durations (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	i := int(q*float64(len(sorted))+0.999999) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i]
}

// String renders a Summary on one line.
func (s Summary) String() string {
	return fmt.Sprintf("%d requests (%d streams) in %s: %.0f req/s, %d errors; latency p50 %s p99 %s p99.9 %s max %s",
		s.Requests, s.Streams, s.Wall.Round(time.Millisecond), s.Throughput, s.Errors,
		s.P50.Round(10*time.Microsecond), s.P99.Round(10*time.Microsecond), s.P999.Round(10*time.Microsecond), s.Max.Round(10*time.Microsecond))
}
