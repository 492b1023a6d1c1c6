package upstream_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/internal/fakeupstream"
	"github.com/firebreak/firebreak/upstream"
)

// recorder is an Observer that keeps what it is told.
type recorder struct {
	mu        sync.Mutex
	attempts  []upstream.Attempt
	ejections []string
}

func (r *recorder) ObserveAttempt(a upstream.Attempt) {
	r.mu.Lock()
	r.attempts = append(r.attempts, a)
	r.mu.Unlock()
}

func (r *recorder) ObserveEjection(up, model string, ejected bool) {
	r.mu.Lock()
	r.ejections = append(r.ejections, fmt.Sprintf("%s/%s=%v", up, model, ejected))
	r.mu.Unlock()
}

func (r *recorder) outcomes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, a := range r.attempts {
		out = append(out, a.Upstream+":"+string(a.Outcome))
	}
	return out
}

// fakes starts one fake upstream per options value.
func fakes(t *testing.T, opts ...fakeupstream.Options) []*fakeupstream.Server {
	t.Helper()
	var out []*fakeupstream.Server
	for _, o := range opts {
		s := fakeupstream.New(o)
		t.Cleanup(s.Close)
		out = append(out, s)
	}
	return out
}

// chatRouter routes model "chat" to upstreams u0…un-1 (upstream model mi on ui).
func chatRouter(t *testing.T, servers []*fakeupstream.Server, obs upstream.Observer, tune func(i int, c *upstream.Config), opts func(*upstream.Options)) *upstream.Router {
	t.Helper()
	o := upstream.Options{Observer: obs}
	m := upstream.Model{Name: "chat"}
	for i, s := range servers {
		c := upstream.Config{Name: fmt.Sprintf("u%d", i), BaseURL: s.URL}
		if tune != nil {
			tune(i, &c)
		}
		o.Upstreams = append(o.Upstreams, c)
		m.Targets = append(m.Targets, upstream.Target{Upstream: c.Name, Model: fmt.Sprintf("m%d", i)})
	}
	o.Models = []upstream.Model{m}
	if opts != nil {
		opts(&o)
	}
	return newRouter(t, o)
}

func chatRequest(stream bool) upstream.Request {
	return upstream.Request{Path: "/chat/completions", Stream: stream, Body: func(model string) ([]byte, error) {
		return fmt.Appendf(nil, `{"model":%q,"stream":%v,"messages":[{"role":"user","content":"hi"}]}`, model, stream), nil
	}}
}

func do(t *testing.T, r *upstream.Router, ctx context.Context, req upstream.Request) (*upstream.Response, error) {
	t.Helper()
	route, err := r.Resolve("chat", "", "")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := r.Do(ctx, route, req)
	if resp != nil {
		t.Cleanup(func() { resp.Body.Close() })
	}
	return resp, err
}

func readAll(t *testing.T, resp *upstream.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	resp.Body.Close()
	return string(b)
}

func TestDoSendsRequest(t *testing.T) {
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			fs := fakes(t, fakeupstream.Options{Default: fakeupstream.Reply{Chunks: []string{"Hel", "lo"}}})
			r := chatRouter(t, fs, nil, func(_ int, c *upstream.Config) {
				c.APIKey = "sk-up"
				c.Headers = map[string]string{"X-Org": "firebreak"}
			}, nil)
			req := chatRequest(stream)
			req.Header = http.Header{"Authorization": {"Bearer client-key"}, "X-Request-Id": {"rid-1"}}
			resp, err := do(t, r, context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			body := readAll(t, resp)
			if resp.StatusCode != 200 || resp.Upstream != "u0" || resp.UpstreamModel != "m0" || resp.Attempts != 1 {
				t.Errorf("response %d %s %s attempts %d", resp.StatusCode, resp.Upstream, resp.UpstreamModel, resp.Attempts)
			}
			if stream && (!strings.Contains(body, `"content":"lo"`) || !strings.HasSuffix(body, "data: [DONE]\n\n")) {
				t.Errorf("stream body %q", body)
			}
			got := fs[0].Requests()[0]
			wantAccept := map[bool]string{true: "text/event-stream", false: "application/json"}[stream]
			for h, want := range map[string]string{"Authorization": "Bearer sk-up", "X-Org": "firebreak", "X-Request-Id": "rid-1", "Accept": wantAccept, "Content-Type": "application/json"} {
				if v := got.Header.Get(h); v != want {
					t.Errorf("header %s = %q, want %q", h, v, want)
				}
			}
			if got.Model != "m0" || got.Path != "/v1/chat/completions" || got.Stream != stream {
				t.Errorf("upstream saw %+v", got)
			}
		})
	}
}

func TestDoWeightedBalance(t *testing.T) {
	fs := fakes(t, fakeupstream.Options{}, fakeupstream.Options{}, fakeupstream.Options{})
	weights := []int{3, 1, 0} // 0 means the default, 1
	r := chatRouter(t, fs, nil, func(i int, c *upstream.Config) { c.Weight = weights[i] }, nil)
	for range 10 {
		resp, err := do(t, r, context.Background(), chatRequest(false))
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, resp)
	}
	got := []int{len(fs[0].Requests()), len(fs[1].Requests()), len(fs[2].Requests())}
	if got[0] != 6 || got[1] != 2 || got[2] != 2 {
		t.Errorf("requests per upstream %v, want [6 2 2]", got)
	}
}

// closedURL returns a base URL on which nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/v1"
}

func TestDoFailsOver(t *testing.T) {
	tests := []struct {
		name    string
		first   fakeupstream.Reply
		refused bool
		outcome upstream.Outcome
	}{
		{"500", fakeupstream.Reply{Status: 500}, false, upstream.OutcomeStatus},
		{"502", fakeupstream.Reply{Status: 502}, false, upstream.OutcomeStatus},
		{"503", fakeupstream.Reply{Status: 503}, false, upstream.OutcomeStatus},
		{"504", fakeupstream.Reply{Status: 504}, false, upstream.OutcomeStatus},
		{"429", fakeupstream.Reply{Status: 429, RetryAfter: time.Second}, false, upstream.OutcomeStatus},
		{"no headers in time", fakeupstream.Reply{HeaderDelay: time.Hour}, false, upstream.OutcomeTimeout},
		{"connection refused", fakeupstream.Reply{}, true, upstream.OutcomeConnect},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := fakes(t, fakeupstream.Options{Default: tt.first}, fakeupstream.Options{})
			rec := &recorder{}
			r := chatRouter(t, fs, rec, func(i int, c *upstream.Config) {
				c.FirstByteTimeout = 50 * time.Millisecond
				if i == 0 && tt.refused {
					c.BaseURL = closedURL(t)
				}
			}, nil)
			resp, err := do(t, r, context.Background(), chatRequest(true))
			if err != nil {
				t.Fatalf("do: %v", err)
			}
			readAll(t, resp)
			if resp.Upstream != "u1" || resp.Attempts != 2 || resp.StatusCode != 200 {
				t.Errorf("answered by %s after %d attempts, status %d", resp.Upstream, resp.Attempts, resp.StatusCode)
			}
			want := []string{"u0:" + string(tt.outcome), "u1:ok"}
			if got := rec.outcomes(); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("observed %v, want %v", got, want)
			}
			if h := r.Health(); h[0].ConsecutiveFailures != 1 || h[1].ConsecutiveFailures != 0 || h[0].InFlight != 0 {
				t.Errorf("health %+v", h)
			}
		})
	}
}

func TestDoPassesClientErrorsThrough(t *testing.T) {
	for _, status := range []int{400, 401, 404, 422} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			fs := fakes(t, fakeupstream.Options{Default: fakeupstream.Reply{Status: status, ErrorCode: "context_length_exceeded"}}, fakeupstream.Options{})
			r := chatRouter(t, fs, nil, nil, nil)
			resp, err := do(t, r, context.Background(), chatRequest(false))
			if err != nil {
				t.Fatal(err)
			}
			body := readAll(t, resp)
			if resp.StatusCode != status || resp.Attempts != 1 || !strings.Contains(body, "context_length_exceeded") {
				t.Errorf("status %d attempts %d body %s", resp.StatusCode, resp.Attempts, body)
			}
			if n := len(fs[1].Requests()); n != 0 {
				t.Errorf("a %d was retried: second upstream got %d requests", status, n)
			}
		})
	}
}

func TestDoAllTargetsFail(t *testing.T) {
	tests := []struct {
		name      string
		reply     fakeupstream.Reply
		refused   bool
		wantCode  clienterr.Code
		wantRetry time.Duration
	}{
		{"server errors", fakeupstream.Reply{Status: 500}, false, clienterr.UpstreamError, 0},
		{"overloaded", fakeupstream.Reply{Status: 429, RetryAfter: 7 * time.Second}, false, clienterr.Unavailable, 7 * time.Second},
		{"overloaded without retry-after", fakeupstream.Reply{Status: 429}, false, clienterr.Unavailable, time.Second},
		{"timeouts", fakeupstream.Reply{HeaderDelay: time.Hour}, false, clienterr.UpstreamTimeout, 0},
		{"refused", fakeupstream.Reply{}, true, clienterr.UpstreamError, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt := fakeupstream.Options{Default: tt.reply}
			fs := fakes(t, opt, opt, opt)
			r := chatRouter(t, fs, nil, func(_ int, c *upstream.Config) {
				c.FirstByteTimeout = 50 * time.Millisecond
				if tt.refused {
					c.BaseURL = closedURL(t)
				}
			}, nil)
			_, err := do(t, r, context.Background(), chatRequest(false))
			var oe *clienterr.Error
			if !errors.As(err, &oe) || oe.Code != tt.wantCode || oe.RetryAfter != tt.wantRetry {
				t.Fatalf("error %v (retry %v), want %s retry %v", err, oe.RetryAfter, tt.wantCode, tt.wantRetry)
			}
			if strings.Contains(oe.Message, "127.0.0.1") {
				t.Errorf("client message reveals the upstream: %q", oe.Message)
			}
			if !tt.refused {
				for i, f := range fs {
					if n := len(f.Requests()); n != 1 {
						t.Errorf("upstream %d got %d requests, want 1", i, n)
					}
				}
			}
		})
	}
}

func TestDoBodyFailures(t *testing.T) {
	tests := []struct {
		name     string
		reply    fakeupstream.Reply
		idle     bool
		outcome  upstream.Outcome
		wantIdle bool
	}{
		{"dies mid-stream", fakeupstream.Reply{Chunks: []string{"a", "b", "c"}, Die: true, DieAfter: 2}, false, upstream.OutcomeStreamError, false},
		{"stalls", fakeupstream.Reply{Stall: time.Hour}, true, upstream.OutcomeIdleTimeout, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := fakes(t, fakeupstream.Options{Default: tt.reply})
			rec := &recorder{}
			r := chatRouter(t, fs, rec, func(_ int, c *upstream.Config) { c.IdleTimeout = 50 * time.Millisecond }, nil)
			resp, err := do(t, r, context.Background(), chatRequest(true))
			if err != nil {
				t.Fatal(err)
			}
			_, err = io.ReadAll(resp.Body)
			if err == nil || errors.Is(err, upstream.ErrIdleTimeout) != tt.wantIdle {
				t.Fatalf("read error %v, want a failure (idle timeout: %v)", err, tt.wantIdle)
			}
			resp.Body.Close()
			if h := r.Health()[0]; h.ConsecutiveFailures != 1 || h.InFlight != 0 {
				t.Errorf("health after a broken body %+v", h)
			}
			if got := rec.outcomes(); len(got) != 2 || got[1] != "u0:"+string(tt.outcome) {
				t.Errorf("observed %v", got)
			}
		})
	}
}

func TestDoCancel(t *testing.T) {
	tests := []struct {
		name  string
		reply fakeupstream.Reply
	}{
		{"before headers", fakeupstream.Reply{HeaderDelay: time.Hour}},
		{"during the body", fakeupstream.Reply{Stall: time.Hour}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := fakes(t, fakeupstream.Options{Default: tt.reply}, fakeupstream.Options{})
			r := chatRouter(t, fs, nil, nil, nil)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			time.AfterFunc(30*time.Millisecond, cancel)
			resp, err := do(t, r, ctx, chatRequest(true))
			if err == nil {
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("error %v, want context.Canceled", err)
			}
			if n := len(fs[1].Requests()); n != 0 {
				t.Errorf("a cancelled request was retried (%d)", n)
			}
			if h := r.Health()[0]; h.ConsecutiveFailures != 0 || h.InFlight != 0 {
				t.Errorf("the client's cancel counted against the upstream: %+v", h)
			}
		})
	}
}

func TestEjectionAndProbe(t *testing.T) {
	var broken atomic.Bool
	broken.Store(true)
	fs := fakes(t, fakeupstream.Options{Script: func(fakeupstream.Request) fakeupstream.Reply {
		if broken.Load() {
			return fakeupstream.Reply{Status: 500}
		}
		return fakeupstream.Reply{Text: "ok"}
	}})
	rec := &recorder{}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := chatRouter(t, fs, rec, nil, func(o *upstream.Options) { o.EjectAfter, o.EjectFor = 2, time.Minute })
	upstream.SetClock(r, func() time.Time { return now })
	call := func() error {
		t.Helper()
		resp, err := do(t, r, context.Background(), chatRequest(false))
		if err == nil {
			readAll(t, resp)
		}
		return err
	}
	steps := []struct {
		name      string
		advance   time.Duration
		fix       bool
		wantCode  clienterr.Code // "" for success
		wantSent  int            // requests the upstream has seen after the step
		wantEject bool
	}{
		{"first failure", 0, false, clienterr.UpstreamError, 1, false},
		{"second failure ejects", 0, false, clienterr.UpstreamError, 2, true},
		{"ejected: no traffic", 30 * time.Second, false, clienterr.Unavailable, 2, true},
		{"probe fails: ejected again", 31 * time.Second, false, clienterr.UpstreamError, 3, true},
		{"still ejected", 30 * time.Second, false, clienterr.Unavailable, 3, true},
		{"probe succeeds: restored", 31 * time.Second, true, "", 4, false},
		{"traffic flows", 0, true, "", 5, false},
	}
	for _, st := range steps {
		now = now.Add(st.advance)
		broken.Store(!st.fix)
		err := call()
		var oe *clienterr.Error
		if (st.wantCode == "" && err != nil) || (st.wantCode != "" && (!errors.As(err, &oe) || oe.Code != st.wantCode)) {
			t.Fatalf("%s: error %v, want code %q", st.name, err, st.wantCode)
		}
		if st.wantCode == clienterr.Unavailable && oe.RetryAfter != 30*time.Second {
			t.Errorf("%s: retry after %v, want the rest of the ejection (30s)", st.name, oe.RetryAfter)
		}
		if n := len(fs[0].Requests()); n != st.wantSent {
			t.Errorf("%s: upstream saw %d requests, want %d", st.name, n, st.wantSent)
		}
		if h := r.Health()[0]; h.Healthy == st.wantEject {
			t.Errorf("%s: health %+v, want ejected=%v", st.name, h, st.wantEject)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if fmt.Sprint(rec.ejections) != "[u0/m0=true u0/m0=false]" {
		t.Errorf("ejection events %v", rec.ejections)
	}
}

func TestOneProbeAtATime(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	var n atomic.Int32
	fs := fakes(t, fakeupstream.Options{Script: func(fakeupstream.Request) fakeupstream.Reply {
		if n.Add(1) == 1 {
			return fakeupstream.Reply{Status: 500}
		}
		close(arrived)
		<-release
		return fakeupstream.Reply{Text: "ok"}
	}})
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := chatRouter(t, fs, nil, nil, func(o *upstream.Options) { o.EjectAfter, o.EjectFor = 1, time.Minute })
	upstream.SetClock(r, func() time.Time { return now })
	if _, err := do(t, r, context.Background(), chatRequest(false)); err == nil {
		t.Fatal("first request should fail and eject")
	}
	now = now.Add(2 * time.Minute)
	probe := make(chan error, 1)
	go func() {
		_, err := do(t, r, context.Background(), chatRequest(false))
		probe <- err
	}()
	<-arrived
	_, err := do(t, r, context.Background(), chatRequest(false))
	var oe *clienterr.Error
	if !errors.As(err, &oe) || oe.Code != clienterr.Unavailable {
		t.Errorf("request during the probe: %v, want service_unavailable", err)
	}
	close(release)
	if err := <-probe; err != nil {
		t.Errorf("probe: %v", err)
	}
	if !r.Health()[0].Healthy {
		t.Error("a successful probe did not restore the target")
	}
}

func TestMaxConcurrent(t *testing.T) {
	fs := fakes(t, fakeupstream.Options{Default: fakeupstream.Reply{Stall: time.Hour}}, fakeupstream.Options{})
	r := chatRouter(t, fs, nil, func(i int, c *upstream.Config) { c.MaxConcurrent = 1 }, nil)
	held := make([]*upstream.Response, 0, 2)
	for range 2 {
		resp, err := do(t, r, context.Background(), chatRequest(true))
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, resp)
	}
	if held[0].Upstream == held[1].Upstream {
		t.Fatalf("both requests went to %s despite max_concurrent 1", held[0].Upstream)
	}
	_, err := do(t, r, context.Background(), chatRequest(true))
	var oe *clienterr.Error
	if !errors.As(err, &oe) || oe.Code != clienterr.Unavailable || oe.RetryAfter <= 0 {
		t.Fatalf("third request: %v, want service_unavailable with retry-after", err)
	}
	if h := r.Health(); h[0].InFlight != 1 || h[1].InFlight != 1 {
		t.Errorf("in flight %d/%d, want 1/1", h[0].InFlight, h[1].InFlight)
	}
	held[1].Body.Close()
	resp, err := do(t, r, context.Background(), chatRequest(true))
	if err != nil || resp.Upstream != held[1].Upstream {
		t.Fatalf("after a close: %v", err)
	}
}

func TestDoRejects(t *testing.T) {
	fs := fakes(t, fakeupstream.Options{})
	r := chatRouter(t, fs, nil, nil, nil)
	t.Run("body error", func(t *testing.T) {
		req := chatRequest(false)
		req.Body = func(string) ([]byte, error) { return nil, errors.New("boom") }
		if _, err := do(t, r, context.Background(), req); err == nil || !strings.Contains(err.Error(), "boom") {
			t.Fatalf("error %v", err)
		}
		if h := r.Health()[0]; h.InFlight != 0 || h.ConsecutiveFailures != 0 {
			t.Errorf("health %+v", h)
		}
	})
	t.Run("after close", func(t *testing.T) {
		r.Close()
		_, err := do(t, r, context.Background(), chatRequest(false))
		var oe *clienterr.Error
		if !errors.As(err, &oe) || oe.Code != clienterr.Unavailable {
			t.Fatalf("error %v", err)
		}
	})
}

func TestDoEmbeddings(t *testing.T) {
	fs := fakes(t, fakeupstream.Options{})
	r := chatRouter(t, fs, nil, nil, nil)
	req := upstream.Request{Path: "/embeddings", Body: func(m string) ([]byte, error) {
		return json.Marshal(map[string]any{"model": m, "input": "hello"})
	}}
	resp, err := do(t, r, context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Data []struct{ Embedding []float64 } `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || len(out.Data) != 1 || len(out.Data[0].Embedding) == 0 {
		t.Fatalf("embeddings %+v, %v", out, err)
	}
}
