package identity_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/identity"
	"github.com/firebreak/firebreak/internal/testclock"
	"github.com/firebreak/firebreak/notify"
	"github.com/firebreak/firebreak/store"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef-test-only")

// shanghai is the default zone of the service under test.
var shanghai = time.FixedZone("CST", 8*60*60)

// clock is a settable time source.
type clock = testclock.Clock

func newClock(t time.Time) *clock { return testclock.New(t) }

// smsBox is a Sender that keeps what it was asked to send.
type smsBox struct {
	mu   sync.Mutex
	sent []sms
	fail error
}

type sms struct{ phone, message string }

func (b *smsBox) Send(_ context.Context, phone, message string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fail != nil {
		return b.fail
	}
	b.sent = append(b.sent, sms{phone, message})
	return nil
}

var codeRE = regexp.MustCompile(`\b\d{6}\b`)

// lastCode returns the code of the last message sent.
func (b *smsBox) lastCode(t testing.TB) string {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.sent) == 0 {
		t.Fatal("no message sent")
	}
	c := codeRE.FindString(b.sent[len(b.sent)-1].message)
	if c == "" {
		t.Fatalf("no code in message %q", b.sent[len(b.sent)-1].message)
	}
	return c
}

func (b *smsBox) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.sent)
}

var tenantSeq atomic.Int64

// env is one identity service on a fresh database, with a tenant.
type env struct {
	db       *store.DB
	accounts *account.Service
	svc      *identity.Service
	tenant   *account.Tenant
	clock    *clock
	sms      *smsBox
}

// newEnv builds an env; opts.DB, Users, Secret, Sender and Now are filled
// in unless set.
func newEnv(t testing.TB, db *store.DB, opts identity.Options) *env {
	t.Helper()
	e := &env{db: db, clock: newClock(time.Date(2025, 11, 1, 12, 0, 0, 0, shanghai)), sms: &smsBox{}}
	accts, err := account.New(account.Options{DB: db, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := accts.Close(); err != nil {
			t.Errorf("close accounts: %v", err)
		}
	})
	e.accounts = accts
	name := fmt.Sprintf("acme-%d", tenantSeq.Add(1)) // several envs may share a database
	e.tenant, err = accts.Tenants.Create(context.Background(), account.Tenant{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	opts.DB, opts.Users = db, accts.Users
	if opts.Secret == nil {
		opts.Secret = testSecret
	}
	if opts.Sender == nil {
		opts.Sender = e.sms
	}
	if opts.Now == nil {
		opts.Now = e.clock.Now
	}
	e.svc = newService(t, opts)
	return e
}

func newService(t testing.TB, opts identity.Options) *identity.Service {
	t.Helper()
	s, err := identity.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close identity: %v", err)
		}
	})
	return s
}

// user resolves (creating) the tenant's end user with the external id.
func (e *env) user(t testing.TB, external string) *account.EndUser {
	t.Helper()
	u, err := e.accounts.Users.Resolve(context.Background(), e.tenant.ID, external)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (e *env) state(t testing.TB, u *account.EndUser) *identity.State {
	t.Helper()
	st, err := e.svc.State(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// verifyPhone runs the whole phone flow for u.
func (e *env) verifyPhone(t testing.TB, u *account.EndUser, phone string) {
	t.Helper()
	ctx := context.Background()
	if err := e.svc.StartPhone(ctx, e.tenant.ID, u.ID, phone, ""); err != nil {
		t.Fatalf("start phone: %v", err)
	}
	if err := e.svc.ConfirmPhone(ctx, e.tenant.ID, u.ID, phone, e.sms.lastCode(t)); err != nil {
		t.Fatalf("confirm phone: %v", err)
	}
}

// refusal asserts that err is an *clienterr.Error with the code and cause.
func refusal(t testing.TB, err error, code clienterr.Code, cause error) *clienterr.Error {
	t.Helper()
	var oe *clienterr.Error
	if !errors.As(err, &oe) {
		t.Fatalf("error %v is not an *clienterr.Error", err)
	}
	if oe.Code != code {
		t.Fatalf("code = %s, want %s (%v)", oe.Code, code, err)
	}
	if cause != nil && !errors.Is(err, cause) {
		t.Fatalf("error %v does not wrap %v", err, cause)
	}
	return oe
}

// withIDCheck appends the GB 11643 check character computed from the
// published definition: weights 2^(17-i) mod 11, check (12 - sum mod 11)
// mod 11, 10 written as X.
func withIDCheck(first17 string) string {
	sum := 0
	for i := 0; i < 17; i++ {
		w := 1
		for j := 0; j < 17-i; j++ {
			w = w * 2 % 11
		}
		sum += int(first17[i]-'0') * w
	}
	c := (12 - sum%11) % 11
	if c == 10 {
		return first17 + "X"
	}
	return first17 + string(rune('0'+c))
}

// idFor returns a valid Beijing ID number for a birth date YYYYMMDD.
func idFor(birth string) string { return withIDCheck("110105" + birth + "123") }

// withUSCCCheck appends the GB 32100 check character: weights 3^i mod 31,
// check 31 - sum mod 31 (31 written as 0).
func withUSCCCheck(first17 string) string {
	const alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	sum, w := 0, 1
	for i := 0; i < 17; i++ {
		sum += strings.IndexByte(alphabet, first17[i]) * w
		w = w * 3 % 31
	}
	return first17 + string(alphabet[(31-sum%31)%31])
}

// openBus opens a change notifier on db, as every replica has one.
func openBus(t testing.TB, db *store.DB) *notify.Notifier {
	t.Helper()
	n, err := notify.Open(context.Background(), db, notify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	return n
}

// published returns the identity changes of userID recorded in the
// change log, oldest first: each exists only if its write committed.
func published(t testing.TB, db *store.DB, userID string) []int64 {
	t.Helper()
	rows, err := db.QueryContext(context.Background(),
		`SELECT seq FROM change_log WHERE topic = $1 AND payload = $2 ORDER BY seq`, identity.Topic, userID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var seqs []int64
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, seq)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return seqs
}
