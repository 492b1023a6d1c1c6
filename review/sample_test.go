package review_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/firebreak/firebreak/review"
	"github.com/firebreak/firebreak/safety"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

// binomialInterval returns the central interval [lo, hi] holding at least
// conf of Binomial(n, p), from the exact distribution.
func binomialInterval(n int, p, conf float64) (lo, hi int) {
	pmf := func(k int) float64 {
		lg := func(x int) float64 { v, _ := math.Lgamma(float64(x) + 1); return v }
		return math.Exp(lg(n) - lg(k) - lg(n-k) + float64(k)*math.Log(p) + float64(n-k)*math.Log1p(-p))
	}
	tail := (1 - conf) / 2
	cum := 0.0
	for lo = 0; cum+pmf(lo) <= tail; lo++ {
		cum += pmf(lo)
	}
	cum = 0
	for hi = n; cum+pmf(hi) <= tail; hi-- {
		cum += pmf(hi)
	}
	return lo, hi
}

// At a 1% rate over 10,000 allowed exchanges the number sampled lies in
// the binomial 99% interval, every sampled exchange is queued, and its
// content is on the trail sealed (never in plain text) while the others
// keep only hashes. SQLite only: 10,000 appends on both databases would
// double a long test for no new claim (the queue's SQL is tested on both).
func TestSamplingRate(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 appends")
	}
	db := storetest.Open(t, store.Options{DataDir: t.TempDir()})
	d := newDesk(t, db, review.Options{})
	rng := rand.New(rand.NewPCG(12, 34))
	r := d.recorder(t, review.Sampling{Rate: 0.01, Tenants: map[string]float64{"quiet": 0}, Float: rng.Float64})
	const n = 10000
	var wg sync.WaitGroup
	work := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range work {
				tenant := "t1"
				if i%100 == 0 {
					tenant = "quiet" // a tenant whose rate is 0 is never sampled
				}
				d.exchange(t, r, tenant, "u1", safety.Allow, "", fmt.Sprintf("secret prompt %05d", i))
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()

	ctx := context.Background()
	var sampled, quiet int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM review_items WHERE source = 'sample'`).Scan(&sampled); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM review_items WHERE source = 'sample' AND tenant_id = 'quiet'`).Scan(&quiet); err != nil {
		t.Fatal(err)
	}
	lo, hi := binomialInterval(n-n/100, 0.01, 0.99)
	t.Logf("sampled %d of %d at 1%%; binomial 99%% interval [%d, %d]", sampled, n-n/100, lo, hi)
	if sampled < lo || sampled > hi || quiet != 0 {
		t.Fatalf("sampled %d (quiet tenant %d), want within [%d, %d] and 0", sampled, quiet, lo, hi)
	}

	rows, err := db.QueryContext(ctx, `SELECT a.id, a.content, i.id IS NOT NULL FROM audit_records a
		LEFT JOIN review_items i ON i.record_id = a.id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var sealedIDs []string
	for rows.Next() {
		var id, content string
		var queued bool
		if err := rows.Scan(&id, &content, &queued); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(content, "secret prompt") {
			t.Fatalf("record %s stores content in plain text", id)
		}
		switch {
		case queued && !strings.HasPrefix(content, "aesgcm:"):
			t.Fatalf("sampled record %s is not sealed: %.20q", id, content)
		case !queued && !strings.HasPrefix(content, "hash:"):
			t.Fatalf("unsampled record %s keeps %.20q, want hashes only", id, content)
		case queued:
			sealedIDs = append(sealedIDs, id)
		}
	}
	if len(sealedIDs) != sampled {
		t.Fatalf("%d sealed records, %d sampled", len(sealedIDs), sampled)
	}
	e, err := d.trail.Content(ctx, sealedIDs[0])
	if err != nil || !strings.HasPrefix(e.Content.Prompt, "secret prompt") {
		t.Fatalf("the keyring does not open a sampled record: %v %q", err, e.Content.Prompt)
	}
}

func TestSamplingNeedsKeyring(t *testing.T) {
	db := storetest.Open(t, store.Options{DataDir: t.TempDir()})
	d := newDesk(t, db, review.Options{})
	if _, err := d.queue.Recorder(d.trail, review.Sampling{Rate: 0.01}, false); err == nil {
		t.Fatal("sampling without a keyring accepted")
	}
	if _, err := d.queue.Recorder(d.trail, review.Sampling{Rate: 1.5}, true); err == nil {
		t.Fatal("rate 1.5 accepted")
	}
	if _, err := d.queue.Recorder(d.trail, review.Sampling{}, false); err != nil {
		t.Fatalf("no sampling, no keyring: %v", err)
	}
}
