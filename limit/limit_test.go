package limit

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/firebreak/firebreak/clienterr"
)

// step is one request in a scripted scenario.
type step struct {
	advance time.Duration // move the clock first
	finish  int           // then Done this many kept tickets (oldest first)
	tokens  int64         // tokens reported by Done when admitted
	keep    bool          // keep the ticket open instead of Done
	refused Kind          // 0: must be admitted
	retry   time.Duration // expected RetryAfter when refused
}

var limitCases = []struct {
	name   string
	limits Limits
	steps  []step
}{
	{"rpm admits the limit then refuses", Limits{RPM: 3}, []step{
		{}, {}, {},
		{refused: KindRPM, retry: 61 * time.Second},
		{advance: 61 * time.Second},
	}},
	{"rpm window slides", Limits{RPM: 2}, []step{
		{},
		{advance: 30 * time.Second},
		{refused: KindRPM, retry: 31 * time.Second},
		{advance: 31 * time.Second},
		{refused: KindRPM, retry: 30 * time.Second},
	}},
	{"rpm has no burst at the minute edge", Limits{RPM: 2}, []step{
		{advance: 59 * time.Second}, {},
		{advance: time.Second, refused: KindRPM, retry: 60 * time.Second},
	}},
	{"refused requests do not count", Limits{RPM: 1}, []step{
		{},
		{advance: 30 * time.Second, refused: KindRPM, retry: 31 * time.Second},
		{advance: 31 * time.Second},
	}},
	{"tpm refuses once the window holds the budget", Limits{TPM: 100}, []step{
		{tokens: 60}, {tokens: 50},
		{refused: KindTPM, retry: 61 * time.Second},
		{advance: 61 * time.Second, tokens: 10},
	}},
	{"tpm frees as old tokens leave", Limits{TPM: 100}, []step{
		{tokens: 80},
		{advance: 30 * time.Second, tokens: 30},
		{refused: KindTPM, retry: 31 * time.Second},
		{advance: 31 * time.Second},
	}},
	{"concurrent caps open tickets", Limits{Concurrent: 2}, []step{
		{keep: true}, {keep: true},
		{refused: KindConcurrent, retry: time.Second},
		{finish: 1, keep: true},
		{refused: KindConcurrent, retry: time.Second},
	}},
	{"quota refuses once used up", Limits{TokenQuota: 100}, []step{
		{tokens: 70}, {tokens: 40},
		{refused: KindQuota},
		{advance: time.Hour, refused: KindQuota},
	}},
	{"rpm and concurrent together", Limits{RPM: 3, Concurrent: 1}, []step{
		{keep: true},
		{refused: KindConcurrent, retry: time.Second},
		{finish: 1}, {},
		{refused: KindRPM, retry: 61 * time.Second},
	}},
	{"no limits admit everything", Limits{}, []step{{keep: true}, {keep: true}, {tokens: 1 << 40}}},
}

func TestLimits(t *testing.T) {
	for _, b := range backends(t) {
		for _, tc := range limitCases {
			t.Run(b.name+"/"+tc.name, func(t *testing.T) {
				clk := newClock()
				var hit Kind
				l := b.build(t, Options{Now: clk.Now, OnRefuse: func(k Kind) { hit = k }})
				var kept []*Ticket
				for i, s := range tc.steps {
					clk.Add(s.advance)
					for range s.finish {
						kept[0].Done(0)
						kept = kept[1:]
					}
					hit = 0
					tk, err := l.AcquireAll(context.Background(), []Subject{{Name: "key:secret-42", Limits: tc.limits, Label: "key"}})
					if s.refused == 0 {
						if err != nil {
							t.Fatalf("step %d: refused: %v", i, err)
						}
						if s.keep {
							kept = append(kept, tk)
						} else {
							tk.Done(s.tokens)
						}
						continue
					}
					if err == nil {
						t.Fatalf("step %d: admitted, want %v refusal", i, s.refused)
					}
					checkRefusal(t, err, s.refused, tc.limits, s.retry, "key")
					if hit != s.refused {
						t.Errorf("step %d: OnRefuse got %v, want %v", i, hit, s.refused)
					}
				}
			})
		}
	}
}

func checkRefusal(t *testing.T, err error, kind Kind, lim Limits, retry time.Duration, label string) {
	t.Helper()
	oe := refusal(t, err)
	code, value := clienterr.RateLimited, 0
	switch kind {
	case KindRPM:
		value = lim.RPM
	case KindTPM:
		value = lim.TPM
	case KindConcurrent:
		value = lim.Concurrent
	case KindQuota:
		code, value = clienterr.QuotaExceeded, int(lim.TokenQuota)
	}
	if oe.Code != code {
		t.Errorf("code %s, want %s", oe.Code, code)
	}
	if oe.RetryAfter != retry {
		t.Errorf("RetryAfter %v, want %v", oe.RetryAfter, retry)
	}
	want := "limit of " + strconv.Itoa(value) + " reached for this " + label
	if kind == KindQuota {
		want = "quota of " + strconv.Itoa(value) + " reached for this " + label
	}
	if !strings.Contains(oe.Message, want) || strings.Contains(oe.Message, "secret-42") {
		t.Errorf("message %q: want it to contain %q and not the subject name", oe.Message, want)
	}
}

func TestAcquireAllIsAllOrNothing(t *testing.T) {
	for _, b := range backends(t) {
		for _, perSubject := range []bool{false, true} {
			if perSubject && b.name != "redis" {
				continue
			}
			t.Run(b.name+"/per_subject="+strconv.FormatBool(perSubject), func(t *testing.T) {
				clk := newClock()
				l := b.build(t, Options{Now: clk.Now})
				if perSubject {
					l.redis.perSubject = true // what a cluster client gets
				}
				ctx := context.Background()
				key := Subject{Name: "key:1", Limits: Limits{RPM: 2, Concurrent: 1}, Label: "key"}
				user := Subject{Name: "user:1", Limits: Limits{RPM: 1}, Label: "user"}
				tk, err := l.AcquireAll(ctx, []Subject{key, user})
				if err != nil {
					t.Fatalf("first: %v", err)
				}
				tk.Done(0)
				_, err = l.AcquireAll(ctx, []Subject{key, user})
				if oe := refusal(t, err); !strings.Contains(oe.Message, "for this user") {
					t.Fatalf("second: %v, want the user's refusal", err)
				}
				// The refused call must have left the key's request and slot alone.
				tk, err = l.AcquireAll(ctx, []Subject{key})
				if err != nil {
					t.Fatalf("key alone: %v", err)
				}
				tk.Done(0)
				_, err = l.AcquireAll(ctx, []Subject{key})
				checkRefusal(t, err, KindRPM, Limits{RPM: 2}, 61*time.Second, "key")
			})
		}
	}
}

func TestSlotLeaseExpires(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			clk := newClock()
			l := b.build(t, Options{Now: clk.Now, SlotTTL: time.Minute})
			lim := Limits{Concurrent: 1}
			if _, err := l.Acquire(context.Background(), "k", lim); err != nil {
				t.Fatal(err)
			}
			_, err := l.Acquire(context.Background(), "k", lim)
			checkRefusal(t, err, KindConcurrent, lim, time.Second, "client")
			clk.Add(time.Minute)
			if _, err := l.Acquire(context.Background(), "k", lim); err != nil {
				t.Fatalf("after the lease expired: %v", err)
			}
		})
	}
}

func TestDoneIsIdempotent(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			clk := newClock()
			l := b.build(t, Options{Now: clk.Now})
			ctx := context.Background()
			lim := Limits{TPM: 100, Concurrent: 1}
			t1, err := l.Acquire(ctx, "k", lim)
			if err != nil {
				t.Fatal(err)
			}
			t1.Done(60)
			t1.Done(60) // counted once: 60 < 100 still admits
			t2, err := l.Acquire(ctx, "k", lim)
			if err != nil {
				t.Fatalf("after double Done: %v", err)
			}
			t1.Done(60) // must not free t2's slot
			_, err = l.Acquire(ctx, "k", lim)
			checkRefusal(t, err, KindConcurrent, lim, time.Second, "client")
			t2.Done(0)
			var nilTicket *Ticket
			nilTicket.Done(1) // a nil ticket is safe
		})
	}
}

func TestQuotaPersistsThroughStore(t *testing.T) {
	store := newMapStore()
	ctx := context.Background()
	lim := Limits{TokenQuota: 100}
	use := func(l *Limiter, tokens int64) error {
		t.Helper()
		tk, err := l.Acquire(ctx, "user:7", lim)
		if err == nil {
			tk.Done(tokens)
		}
		return err
	}
	a := newLimiter(t, Options{Quota: store})
	if err := use(a, 70); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := store.get("user:7"); got != 70 {
		t.Fatalf("after Close the store holds %d, want 70", got)
	}

	// Two replicas that both loaded the subject: b's flush refreshes its view
	// with what c recorded.
	b := newLimiter(t, Options{Quota: store})
	c := newLimiter(t, Options{Quota: store})
	if err := use(b, 10); err != nil {
		t.Fatal(err)
	}
	if err := use(c, 20); err != nil {
		t.Fatal(err)
	}
	for _, l := range []*Limiter{c, b} {
		if err := l.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := store.get("user:7"); got != 100 {
		t.Fatalf("store holds %d, want 100", got)
	}
	if err := use(b, 1); refusal(t, err).Code != clienterr.QuotaExceeded {
		t.Fatalf("b after refresh: %v, want quota refusal", err)
	}
	if err := use(newLimiter(t, Options{Quota: store}), 1); refusal(t, err).Code != clienterr.QuotaExceeded {
		t.Fatalf("new replica: %v, want quota refusal", err)
	}
}

func TestUsageIsRecordedWithoutQuota(t *testing.T) {
	store := newMapStore()
	l := newLimiter(t, Options{Quota: store})
	tk, err := l.Acquire(context.Background(), "key:9", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	tk.Done(33)
	if err := l.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := store.get("key:9"); got != 33 {
		t.Fatalf("store holds %d, want 33", got)
	}
}

func TestNewValidates(t *testing.T) {
	cases := []struct {
		name string
		opts Options
		ok   bool
	}{
		{"zero value works", Options{}, true},
		{"negative flush interval", Options{FlushEvery: -time.Second}, false},
		{"idle shorter than the window", Options{IdleAfter: 10 * time.Second}, false},
		{"negative slot ttl", Options{SlotTTL: -1}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, err := New(tc.opts)
			if (err == nil) != tc.ok {
				t.Fatalf("New: err %v, want ok=%v", err, tc.ok)
			}
			if l != nil {
				_ = l.Close(context.Background())
			}
		})
	}
}

func TestNegativeLimitsAreAnError(t *testing.T) {
	l := newLimiter(t, Options{})
	_, err := l.Acquire(context.Background(), "k", Limits{RPM: -1})
	if err == nil {
		t.Fatal("admitted with a negative RPM")
	}
	if clienterr.As(err).Code != clienterr.Internal {
		t.Fatalf("code %s, want an internal error (a configuration bug)", clienterr.As(err).Code)
	}
}
