package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/safety"
	"github.com/firebreak/firebreak/staff"
)

// benchRecords is how many audit records the render benchmarks run over:
// FIREBREAK_BENCH_RECORDS, default 1,000,000, spread over 30 days.
func benchRecords() int {
	if n, err := strconv.Atoi(os.Getenv("FIREBREAK_BENCH_RECORDS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

// fill appends n records ending now, a tenth refused with a risk code,
// through the trail's own writer.
func fill(b *testing.B, f *fixture, n int) {
	b.Helper()
	ctx := context.Background()
	now := f.clock.Now()
	span := 30 * 24 * time.Hour
	var wg sync.WaitGroup
	const workers = 16
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				rec := audit.Record{Time: now.Add(-span + time.Duration(i)*span/time.Duration(n)), TenantID: "ten_" + strconv.Itoa(i%5),
					Model: "general", Route: "direct", Upstream: "up" + strconv.Itoa(i%3), Status: 200, Outcome: audit.OutcomeOK,
					Timings: audit.Timings{TotalMs: int64(20 + i%700)}}
				if i%10 == 0 {
					rec.Input = audit.Decision{Action: safety.Refuse, Code: []string{"A1a", "A2c", "A3b", "A4f"}[i%4]}
					rec.Outcome = audit.OutcomeRefused
				}
				if err := f.trail.Append(ctx, rec); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// BenchmarkRender measures the dashboard and the audit search pages,
// rendered whole by the console's handler, over benchRecords() records on
// SQLite, next to the same pages over 10,000 records in the same run.
func BenchmarkRender(b *testing.B) {
	for _, n := range []int{10_000, benchRecords()} {
		f := newFixture(b, staff.Options{})
		start := time.Now()
		fill(b, f, n)
		b.Logf("%d records appended in %v", n, time.Since(start).Round(time.Millisecond))
		cookie := f.benchSession(b)
		for _, page := range []string{"/console/?range=24h", "/console/?range=7d", "/console/?range=30d", "/console/audit",
			"/console/audit?decision=refuse&code=A2c", "/console/audit?kind=requests&tenant=ten_3"} {
			b.Run(fmt.Sprintf("records=%d/%s", n, page), func(b *testing.B) {
				for b.Loop() {
					req := httptest.NewRequest("GET", page, nil)
					req.AddCookie(cookie)
					rec := httptest.NewRecorder()
					f.console.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Fatalf("%s: %d", page, rec.Code)
					}
				}
			})
		}
	}
}

// benchSession logs a new admin in and returns its session cookie.
func (f *fixture) benchSession(b *testing.B) *http.Cookie {
	b.Helper()
	name := "bench" + strconv.Itoa(int(time.Now().UnixNano()%1e6))
	f.member(name, staff.RoleAdmin)
	ses, _, err := f.staff.Login(context.Background(), name, password, staff.Client{IP: "127.0.0.1"})
	if err != nil {
		b.Fatal(err)
	}
	return &http.Cookie{Name: "fb_session", Value: ses.Secret}
}
