package bench_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// load is an open-loop schedule: request i is due at start + i/rate,
// whatever happened to the ones before, and a fixed pool of workers sends
// them. A request that finds every worker busy starts late; the lateness
// is reported, so a slow side cannot hide behind a slower arrival rate.
type load struct {
	rate     int // requests per second
	requests int
	workers  int
}

// target is one side of the comparison: where to send, and with what.
type target struct {
	name   string
	url    string // full URL of /chat/completions
	key    string
	client *http.Client
}

// sample is the outcome of one request.
type sample struct {
	latency time.Duration // from send to the last body byte
	lag     time.Duration // start behind schedule
	err     error
}

// run sends l's requests to tg and returns one sample per request and the
// wall time from the first due time to the last answer.
func run(ctx context.Context, tg target, l load, body func(i int) string) ([]sample, time.Duration) {
	out := make([]sample, l.requests)
	due := make(chan int)
	interval := time.Second / time.Duration(l.rate)
	start := time.Now()
	var wg sync.WaitGroup
	for range l.workers {
		wg.Go(func() {
			for i := range due {
				at := start.Add(time.Duration(i) * interval)
				began := time.Now()
				err := chat(ctx, tg, body(i))
				out[i] = sample{latency: time.Since(began), lag: began.Sub(at), err: err}
			}
		})
	}
	for i := range l.requests {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		due <- i
	}
	close(due)
	wg.Wait()
	return out, time.Since(start)
}

// chat sends one non-streamed chat completion and reads the whole answer.
func chat(ctx context.Context, tg target, body string) error {
	resp, err := post(ctx, tg, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

func post(ctx context.Context, tg target, body string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tg.url, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+tg.key)
	req.Header.Set("Content-Type", "application/json")
	return tg.client.Do(req)
}

// streamTiming is one streamed answer: first body byte, first content
// delta, and the end of the stream.
type streamTiming struct {
	firstByte, firstContent, total time.Duration
	chunks                         int    // deltas with content
	text                           string // the whole answer
}

// stream sends one streamed chat completion and times it.
func stream(ctx context.Context, tg target, body string) (streamTiming, error) {
	var st streamTiming
	began := time.Now()
	resp, err := post(ctx, tg, body)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("status %d", resp.StatusCode)
	}
	r := &firstByteReader{r: resp.Body}
	sc := bufio.NewScanner(r)
	var text strings.Builder
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		content := deltaContent(data)
		if content == "" {
			continue
		}
		if st.chunks == 0 {
			st.firstContent = time.Since(began)
		}
		st.chunks++
		text.WriteString(content)
	}
	st.total, st.firstByte, st.text = time.Since(began), r.at.Sub(began), text.String()
	if err := sc.Err(); err != nil {
		return st, fmt.Errorf("read stream: %w", err)
	}
	return st, nil
}

// deltaContent returns the content delta of choice 0 of an SSE data
// payload, or "".
func deltaContent(data string) string {
	var c struct {
		Choices []struct {
			Delta struct{ Content string } `json:"delta"`
		} `json:"choices"`
	}
	if json.Unmarshal([]byte(data), &c) != nil || len(c.Choices) == 0 {
		return ""
	}
	return c.Choices[0].Delta.Content
}

// firstByteReader notes when the first byte of a body arrived.
type firstByteReader struct {
	r  io.Reader
	at time.Time
}

func (f *firstByteReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if n > 0 && f.at.IsZero() {
		f.at = time.Now()
	}
	return n, err
}

// dist summarises durations.
type dist struct {
	n                       int
	p50, p90, p99, max, avg time.Duration
}

// summarise returns the nearest-rank percentiles of ds.
func summarise(ds []time.Duration) dist {
	if len(ds) == 0 {
		return dist{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := func(p float64) time.Duration {
		i := int(p*float64(len(s))+0.999999) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return dist{n: len(s), p50: rank(0.50), p90: rank(0.90), p99: rank(0.99), max: s[len(s)-1], avg: sum / time.Duration(len(s))}
}

// newClient is a keep-alive client with room for every worker's connection.
func newClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: time.Minute,
		DisableCompression: true, ForceAttemptHTTP2: false,
	}}
}
