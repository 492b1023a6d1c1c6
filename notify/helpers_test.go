package notify_test

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/firebreak/firebreak/notify"
	"github.com/firebreak/firebreak/store"
)

// patience bounds every wait: long enough to catch only "never arrives".
const patience = 10 * time.Second

// open returns a Notifier on db that is closed when the test ends.
func open(t testing.TB, db *store.DB, opts notify.Options) *notify.Notifier {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	n, err := notify.Open(ctx, db, opts)
	if err != nil {
		t.Fatalf("open notifier: %v", err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Errorf("close notifier: %v", err)
		}
	})
	return n
}

// recorder collects the payloads one subscription receives.
type recorder struct {
	mu   sync.Mutex
	got  []string
	at   []time.Time
	note chan struct{}
}

// record subscribes a recorder to topic on n until the test ends.
func record(t testing.TB, n *notify.Notifier, topic string) *recorder {
	t.Helper()
	r := &recorder{note: make(chan struct{}, 1)}
	t.Cleanup(n.Subscribe(topic, r.add))
	return r
}

func (r *recorder) add(p string) {
	now := time.Now()
	r.mu.Lock()
	r.got = append(r.got, p)
	r.at = append(r.at, now)
	r.mu.Unlock()
	select {
	case r.note <- struct{}{}:
	default:
	}
}

func (r *recorder) payloads() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// wait returns the payloads once there are at least k, or fails the test
// after patience.
func (r *recorder) wait(t testing.TB, k int) []string {
	t.Helper()
	timer := time.NewTimer(patience)
	defer timer.Stop()
	for {
		if got := r.payloads(); len(got) >= k {
			return got
		}
		select {
		case <-r.note:
		case <-timer.C:
			t.Fatalf("received %d of %d payloads within %s: %q", len(r.payloads()), k, patience, r.payloads())
		}
	}
}

// arrivedAt returns when the i-th payload arrived.
func (r *recorder) arrivedAt(i int) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.at[i]
}

// publish publishes or fails the test.
func publish(t testing.TB, n *notify.Notifier, topic, payload string) {
	t.Helper()
	if err := n.Publish(context.Background(), topic, payload); err != nil {
		t.Fatalf("publish %s: %v", topic, err)
	}
}

// percentile returns the p-th percentile (0..100) of ds, which it sorts.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := int(float64(len(ds)-1) * p / 100)
	return ds[i]
}

// seqPayloads returns "p0" … "p<k-1>".
func seqPayloads(k int) []string {
	out := make([]string, k)
	for i := range out {
		out[i] = "p" + strconv.Itoa(i)
	}
	return out
}
