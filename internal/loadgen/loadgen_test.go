package loadgen

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	t0 := time.Unix(0, 0)
	var samples []Sample
	for i := 1; i <= 1000; i++ { // latencies 1..1000 ms, all starting at t0
		s := Sample{Index: i, Stream: i%2 == 0, Start: t0, End: t0.Add(time.Duration(i) * time.Millisecond)}
		if i%100 == 0 {
			s.Err = fmt.Errorf("status 500")
		}
		samples = append(samples, s)
	}
	got := Summarize(samples)
	want := Summary{Requests: 1000, Errors: 10, Streams: 500, Wall: time.Second, Throughput: 1000,
		P50: 500 * time.Millisecond, P99: 990 * time.Millisecond, P999: 999 * time.Millisecond, Max: time.Second}
	if got != want {
		t.Errorf("Summarize = %+v\nwant        %+v", got, want)
	}
	if (Summarize(nil) != Summary{}) {
		t.Error("Summarize(nil) is not empty")
	}
}

// TestRun sends to a server that answers every fifth stream without
// [DONE] and every seventh request with a 503: those, and only those,
// are errors, and the bound on requests holds.
func TestRun(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Header.Get("Authorization") != "Bearer k" || r.URL.Path != "/v1/chat/completions" {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		prompt := string(b)
		switch {
		case strings.Contains(prompt, "FAIL"):
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
		case strings.Contains(prompt, `"stream":true`):
			io.WriteString(w, "data: {\"choices\":[]}\n\n")
			if !strings.Contains(prompt, "CUT") {
				io.WriteString(w, "data: [DONE]\n\n")
			}
		default:
			io.WriteString(w, `{"choices":[]}`)
		}
		n.Add(1)
	}))
	defer srv.Close()
	samples, err := Run(context.Background(), Options{URL: srv.URL + "/v1", Key: "k", Requests: 70, Concurrency: 4,
		Prompt: func(i int) string {
			switch {
			case i%7 == 3:
				return "FAIL"
			case i%10 == 4: // a stream (even i) cut before [DONE]
				return "CUT"
			}
			return "hello"
		}})
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 70 || n.Load() != 70 {
		t.Fatalf("%d samples, %d requests served; want 70", len(samples), n.Load())
	}
	for _, s := range samples {
		wantErr := s.Index%7 == 3 || (s.Index%10 == 4 && s.Stream)
		if (s.Err != nil) != wantErr {
			t.Errorf("request %d (stream %v): err %v, want error %v", s.Index, s.Stream, s.Err, wantErr)
		}
		if s.Index%7 == 3 && s.Status != http.StatusServiceUnavailable {
			t.Errorf("request %d: status %d, want 503", s.Index, s.Status)
		}
	}
}
