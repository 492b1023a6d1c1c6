package staff_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/firebreak/firebreak/internal/testclock"
	"github.com/firebreak/firebreak/staff"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

// cheap keeps password hashing fast in tests; the format and the checks
// are the same as with the default cost.
var cheap = staff.Argon2{Memory: 64, Time: 1, Threads: 1}

const password = "correct horse battery"

func newService(t *testing.T, db *store.DB, clock *testclock.Clock, opts staff.Options) *staff.Service {
	t.Helper()
	opts.DB, opts.Secret, opts.Argon2, opts.Now = db, []byte("sixteen byte secret!"), cheap, clock.Now
	s, err := staff.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func start() *testclock.Clock { return testclock.New(time.Date(2025, 11, 1, 9, 0, 0, 0, time.UTC)) }

var client = staff.Client{IP: "192.0.2.1", UserAgent: "test"}

func TestMembers(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db, start(), staff.Options{})
		a, err := s.Create(ctx, staff.NewMember{Name: " Alice ", Email: "alice@example.com", Role: staff.RoleAdmin, Password: password})
		if err != nil {
			t.Fatal(err)
		}
		if a.Name != "alice" || a.State != staff.StateActive || a.Role != staff.RoleAdmin || len(a.Tenants) != 0 {
			t.Fatalf("created %+v", a)
		}
		if _, err := s.Create(ctx, staff.NewMember{Name: "alice", Role: staff.RoleViewer}); !errors.Is(err, staff.ErrNameTaken) {
			t.Fatalf("duplicate name: %v", err)
		}
		for name, n := range map[string]staff.NewMember{
			"bad role":       {Name: "bob", Role: "root"},
			"bad name":       {Name: "Bob Smith", Role: staff.RoleViewer},
			"short password": {Name: "bob", Role: staff.RoleViewer, Password: "short"},
			"bad e-mail":     {Name: "bob", Role: staff.RoleViewer, Email: "nobody"},
			"bad language":   {Name: "bob", Role: staff.RoleViewer, Language: "fr"},
		} {
			if _, err := s.Create(ctx, n); !errors.Is(err, staff.ErrInvalid) {
				t.Errorf("%s: %v, want ErrInvalid", name, err)
			}
		}
		r, err := s.Create(ctx, staff.NewMember{Name: "rita", Role: staff.RoleReviewer, Tenants: []string{"ten_a"}})
		if err != nil {
			t.Fatal(err)
		}
		if !r.InTenant("ten_a") || r.InTenant("ten_b") || !r.Can(staff.ManageSanctions) || r.Can(staff.ManagePolicy) {
			t.Fatalf("reviewer limited to ten_a: %+v", r)
		}
		list, err := s.List(ctx)
		if err != nil || len(list) != 2 || list[0].Name != "alice" {
			t.Fatalf("list: %v %+v", err, list)
		}
		// The last active admin can be neither demoted nor disabled.
		viewer, disabled := staff.RoleViewer, staff.StateDisabled
		if _, err := s.Update(ctx, a.ID, staff.Patch{Role: &viewer}); !errors.Is(err, staff.ErrLastAdmin) {
			t.Fatalf("demote last admin: %v", err)
		}
		if _, err := s.Update(ctx, a.ID, staff.Patch{State: &disabled}); !errors.Is(err, staff.ErrLastAdmin) {
			t.Fatalf("disable last admin: %v", err)
		}
		admin := staff.RoleAdmin
		if _, err := s.Update(ctx, r.ID, staff.Patch{Role: &admin, Tenants: &[]string{}}); err != nil {
			t.Fatal(err)
		}
		if m, err := s.Update(ctx, a.ID, staff.Patch{State: &disabled}); err != nil || m.State != disabled {
			t.Fatalf("disable with another admin: %v %+v", err, m)
		}
		if n, err := s.CountAdmins(ctx); err != nil || n != 1 {
			t.Fatalf("admins: %d %v", n, err)
		}
		if _, err := s.Get(ctx, "stf_nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("get missing: %v", err)
		}
	})
}

func TestPasswordAndLockout(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clock := start()
		s := newService(t, db, clock, staff.Options{MaxFailures: 3, Lockout: 10 * time.Minute})
		m, err := s.Create(ctx, staff.NewMember{Name: "alice", Role: staff.RolePolicy, Password: password})
		if err != nil {
			t.Fatal(err)
		}
		ses, _, err := s.Login(ctx, "ALICE", password, client)
		if err != nil || ses.Secret == "" || ses.Pending != staff.PendingNone {
			t.Fatalf("login: %v %+v", err, ses)
		}
		if _, got, err := s.Login(ctx, "alice", "wrong password!", client); !errors.Is(err, staff.ErrBadCredentials) || got == nil {
			t.Fatalf("wrong password: %v", err)
		}
		if _, got, err := s.Login(ctx, "nobody", password, client); !errors.Is(err, staff.ErrBadCredentials) || got != nil {
			t.Fatalf("unknown name: %v", err)
		}
		// A success resets the count; then three failures in a row lock.
		if _, _, err := s.Login(ctx, "alice", password, client); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			_, _, err := s.Login(ctx, "alice", "wrong password!", client)
			want := staff.ErrBadCredentials
			if i == 2 {
				want = staff.ErrLocked
			}
			if !errors.Is(err, want) {
				t.Fatalf("failure %d: %v, want %v", i+1, err, want)
			}
		}
		if _, _, err := s.Login(ctx, "alice", password, client); !errors.Is(err, staff.ErrLocked) {
			t.Fatalf("right password while locked: %v", err)
		}
		clock.Add(10*time.Minute + time.Second)
		if _, _, err := s.Login(ctx, "alice", password, client); err != nil {
			t.Fatalf("after the lockout: %v", err)
		}
		// A new password works, the old one does not, and old sessions end.
		if err := s.SetPassword(ctx, m.ID, "another long passphrase"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, ses.Secret); !errors.Is(err, staff.ErrNoSession) {
			t.Fatalf("session after password change: %v", err)
		}
		if _, _, err := s.Login(ctx, "alice", password, client); !errors.Is(err, staff.ErrBadCredentials) {
			t.Fatalf("old password: %v", err)
		}
		if ok, err := s.CheckPassword(ctx, m.ID, "another long passphrase"); !ok || err != nil {
			t.Fatalf("check password: %v %v", ok, err)
		}
		// A disabled member cannot log in even with the right password.
		disabled := staff.StateDisabled
		if _, err := s.Update(ctx, m.ID, staff.Patch{State: &disabled}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Login(ctx, "alice", "another long passphrase", client); !errors.Is(err, staff.ErrBadCredentials) {
			t.Fatalf("disabled: %v", err)
		}
	})
}

// TestLockoutUnderParallelGuesses sends many wrong passwords at once
// through two services on one database (two replicas): no more than
// MaxFailures of them are checked before the account locks, and the right
// password is refused until the lockout ends.
func TestLockoutUnderParallelGuesses(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clock := start()
		opts := staff.Options{MaxFailures: 4, Lockout: 10 * time.Minute, LoginRate: 1000}
		replicas := []*staff.Service{newService(t, db, clock, opts), newService(t, db, clock, opts)}
		if _, err := replicas[0].Create(ctx, staff.NewMember{Name: "alice", Role: staff.RoleAdmin, Password: password}); err != nil {
			t.Fatal(err)
		}
		const guesses = 24
		errs := make(chan error, guesses)
		var wg sync.WaitGroup
		for i := range guesses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, err := replicas[i%2].Login(ctx, "alice", fmt.Sprintf("wrong guess %02d!", i), client)
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		checked := 0
		for err := range errs {
			switch {
			case errors.Is(err, staff.ErrBadCredentials):
				checked++ // a guess checked and wrong, not the last of its run
			case errors.Is(err, staff.ErrLocked):
			default:
				t.Fatalf("guess: %v", err)
			}
		}
		if checked > opts.MaxFailures-1 {
			t.Fatalf("%d guesses answered as wrong before the lock, want at most %d", checked, opts.MaxFailures-1)
		}
		if _, _, err := replicas[1].Login(ctx, "alice", password, client); !errors.Is(err, staff.ErrLocked) {
			t.Fatalf("the right password during the lockout: %v", err)
		}
		clock.Add(opts.Lockout + time.Second)
		if _, _, err := replicas[0].Login(ctx, "alice", password, client); err != nil {
			t.Fatalf("after the lockout: %v", err)
		}
	})
}

// TestThrottle checks the per-address cap as two replicas on one database
// see it: attempts from one address through either count together, other
// addresses are not affected, an IPv6 /64 is one address, a correct
// password is refused too once the cap is reached, and the window slides.
func TestThrottle(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clock := start()
		opts := staff.Options{LoginRate: 4, MaxFailures: 100}
		replicas := []*staff.Service{newService(t, db, clock, opts), newService(t, db, clock, opts)}
		if _, err := replicas[0].Create(ctx, staff.NewMember{Name: "alice", Role: staff.RoleViewer, Password: password}); err != nil {
			t.Fatal(err)
		}
		for i := range 4 {
			if _, _, err := replicas[i%2].Login(ctx, "nobody", password, client); !errors.Is(err, staff.ErrBadCredentials) {
				t.Fatalf("attempt %d: %v", i, err)
			}
		}
		for i, s := range replicas {
			if _, _, err := s.Login(ctx, "alice", password, client); !errors.Is(err, staff.ErrThrottled) {
				t.Fatalf("replica %d, 5th attempt with the right password: %v", i, err)
			}
		}
		other := staff.Client{IP: "192.0.2.2"}
		if _, _, err := replicas[1].Login(ctx, "nobody", password, other); !errors.Is(err, staff.ErrBadCredentials) {
			t.Fatalf("another address: %v", err)
		}
		// One IPv6 /64, four addresses: one source.
		for i, ip := range []string{"2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::3", "2001:db8:1:2::4"} {
			if _, _, err := replicas[i%2].Login(ctx, "nobody", password, staff.Client{IP: ip}); !errors.Is(err, staff.ErrBadCredentials) {
				t.Fatalf("v6 attempt %d: %v", i, err)
			}
		}
		if _, _, err := replicas[0].Login(ctx, "nobody", password, staff.Client{IP: "2001:db8:1:2::99"}); !errors.Is(err, staff.ErrThrottled) {
			t.Fatalf("5th attempt from the /64: %v", err)
		}
		if _, _, err := replicas[0].Login(ctx, "nobody", password, staff.Client{IP: "2001:db8:1:3::1"}); !errors.Is(err, staff.ErrBadCredentials) {
			t.Fatalf("the next /64: %v", err)
		}
		// Just into the next minute the previous one still weighs almost
		// whole: the six attempts of 192.0.2.1 keep it over the cap.
		clock.Add(61 * time.Second)
		if _, _, err := replicas[1].Login(ctx, "alice", password, client); !errors.Is(err, staff.ErrThrottled) {
			t.Fatalf("just after the minute: %v", err)
		}
		clock.Add(2 * time.Minute)
		if ses, _, err := replicas[1].Login(ctx, "alice", password, client); err != nil || ses == nil {
			t.Fatalf("after the window: %v", err)
		}
	})
}

func TestTOTP(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clock := start()
		s := newService(t, db, clock, staff.Options{RequireTOTP: []staff.Role{staff.RoleAdmin}, MaxFailures: 3})
		m, err := s.Create(ctx, staff.NewMember{Name: "root", Role: staff.RoleAdmin, Password: password})
		if err != nil {
			t.Fatal(err)
		}
		// The role requires TOTP: the first login may only enrol.
		ses, _, err := s.Login(ctx, "root", password, client)
		if err != nil || ses.Pending != staff.PendingEnroll {
			t.Fatalf("login before enrolment: %v %+v", err, ses)
		}
		p, err := s.Authenticate(ctx, ses.Secret)
		if err != nil || p.Can(staff.ViewDashboard) {
			t.Fatalf("pending session may do things: %v %+v", err, p)
		}
		enr, err := s.BeginTOTP(ctx, m.ID)
		if err != nil || enr.Secret == "" {
			t.Fatal(err)
		}
		if err := s.ConfirmTOTP(ctx, m.ID, "000000"); !errors.Is(err, staff.ErrBadCredentials) {
			t.Fatalf("wrong enrolment code: %v", err)
		}
		code, _ := totp.GenerateCode(enr.Secret, clock.Now())
		if err := s.ConfirmTOTP(ctx, m.ID, code); err != nil {
			t.Fatal(err)
		}
		if p, err := s.Authenticate(ctx, ses.Secret); err != nil || !p.Can(staff.ManageStaff) {
			t.Fatalf("session after enrolment: %v %+v", err, p)
		}
		// Later logins wait for the code; the same code is not accepted twice.
		clock.Add(2 * time.Minute)
		ses, _, err = s.Login(ctx, "root", password, client)
		if err != nil || ses.Pending != staff.PendingTOTP {
			t.Fatalf("login with TOTP: %v %+v", err, ses)
		}
		if _, _, err := s.SecondFactor(ctx, ses.Secret, code, client); !errors.Is(err, staff.ErrBadCredentials) {
			t.Fatalf("replayed code: %v", err)
		}
		code, _ = totp.GenerateCode(enr.Secret, clock.Now())
		full, _, err := s.SecondFactor(ctx, ses.Secret, code, client)
		if err != nil || full.Pending != staff.PendingNone || full.Secret == ses.Secret {
			t.Fatalf("second factor: %v %+v", err, full)
		}
		if _, err := s.Authenticate(ctx, ses.Secret); !errors.Is(err, staff.ErrNoSession) {
			t.Fatalf("the pending session survived: %v", err)
		}
		if _, _, err := s.SecondFactor(ctx, full.Secret, code, client); !errors.Is(err, staff.ErrNoSession) {
			t.Fatalf("second factor on a full session: %v", err)
		}
		// Wrong codes count as failed logins and lock.
		clock.Add(time.Minute)
		ses, _, _ = s.Login(ctx, "root", password, client)
		var last error
		for range 3 {
			_, _, last = s.SecondFactor(ctx, ses.Secret, "123456", client)
		}
		if !errors.Is(last, staff.ErrLocked) {
			t.Fatalf("three wrong codes: %v", last)
		}
		if err := s.DisableTOTP(ctx, m.ID); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Get(ctx, m.ID); got.TOTP {
			t.Fatal("TOTP still on")
		}
	})
}

func TestSessions(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clock := start()
		s := newService(t, db, clock, staff.Options{SessionIdle: 10 * time.Minute, SessionMax: time.Hour})
		m, _ := s.Create(ctx, staff.NewMember{Name: "ann", Role: staff.RoleAuditor, Password: password})
		ses, _, err := s.Login(ctx, "ann", password, client)
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.Authenticate(ctx, ses.Secret)
		if err != nil || p.Member.ID != m.ID || p.Via != staff.ViaSession || p.Actor() != "ann" {
			t.Fatalf("authenticate: %v %+v", err, p)
		}
		if _, err := s.Authenticate(ctx, ses.Secret+"x"); !errors.Is(err, staff.ErrNoSession) {
			t.Fatalf("wrong secret: %v", err)
		}
		// Used every 9 minutes, the session lives until its absolute end.
		for clock.Now().Before(ses.ExpiresAt.Add(-9 * time.Minute)) {
			clock.Add(9 * time.Minute)
			if _, err := s.Authenticate(ctx, ses.Secret); err != nil {
				t.Fatalf("at %v: %v", clock.Now(), err)
			}
		}
		clock.Set(ses.ExpiresAt)
		if _, err := s.Authenticate(ctx, ses.Secret); !errors.Is(err, staff.ErrNoSession) {
			t.Fatalf("past the absolute timeout: %v", err)
		}
		// Idle for the idle timeout, a session ends.
		ses, _, _ = s.Login(ctx, "ann", password, client)
		clock.Add(10 * time.Minute)
		if _, err := s.Authenticate(ctx, ses.Secret); !errors.Is(err, staff.ErrNoSession) {
			t.Fatalf("idle: %v", err)
		}
		// Revoked and logged-out sessions end at once.
		a, _, _ := s.Login(ctx, "ann", password, client)
		b, _, _ := s.Login(ctx, "ann", password, client)
		list, err := s.Sessions(ctx, m.ID)
		if err != nil || len(list) != 2 {
			t.Fatalf("sessions: %v %+v", err, list)
		}
		if err := s.RevokeSession(ctx, m.ID, a.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.Logout(ctx, b.Secret); err != nil {
			t.Fatal(err)
		}
		for _, x := range []*staff.Session{a, b} {
			if _, err := s.Authenticate(ctx, x.Secret); !errors.Is(err, staff.ErrNoSession) {
				t.Fatalf("session %s still valid: %v", x.ID, err)
			}
		}
		if err := s.RevokeSession(ctx, m.ID, a.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("revoke twice: %v", err)
		}
		if n, err := s.PurgeSessions(ctx, clock.Now().Add(time.Second)); err != nil || n < 3 {
			t.Fatalf("purge: %d %v", n, err)
		}
	})
}

func TestTokens(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clock := start()
		s := newService(t, db, clock, staff.Options{})
		m, _ := s.Create(ctx, staff.NewMember{Name: "cli", Role: staff.RolePolicy})
		tok, secret, err := s.CreateToken(ctx, m.ID, "laptop", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.AuthenticateToken(ctx, secret)
		if err != nil || p.Member.ID != m.ID || p.Via != staff.ViaToken || p.CredentialID != tok.ID ||
			!p.Can(staff.ManagePolicy) || p.Can(staff.ManageStaff) {
			t.Fatalf("token principal: %v %+v", err, p)
		}
		for _, bad := range []string{"", "fbs_", secret + "x", "fbs_" + tok.ID + "_wrong", "fba_whatever"} {
			if _, err := s.AuthenticateToken(ctx, bad); !errors.Is(err, staff.ErrBadCredentials) {
				t.Errorf("%q: %v", bad, err)
			}
		}
		// The token follows its member's role.
		viewer := staff.RoleViewer
		if _, err := s.Update(ctx, m.ID, staff.Patch{Role: &viewer}); err != nil {
			t.Fatal(err)
		}
		if p, _ := s.AuthenticateToken(ctx, secret); p.Can(staff.ManagePolicy) {
			t.Fatal("token kept the old role")
		}
		clock.Add(time.Hour)
		if _, err := s.AuthenticateToken(ctx, secret); !errors.Is(err, staff.ErrBadCredentials) {
			t.Fatalf("expired token: %v", err)
		}
		_, secret2, _ := s.CreateToken(ctx, m.ID, "ci", 0)
		list, err := s.Tokens(ctx, m.ID)
		if err != nil || len(list) != 2 || list[0].LastUsedAt.IsZero() == list[1].LastUsedAt.IsZero() {
			t.Fatalf("tokens: %v %+v", err, list)
		}
		if err := s.RevokeToken(ctx, m.ID, list[0].ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AuthenticateToken(ctx, secret2); !errors.Is(err, staff.ErrBadCredentials) {
			t.Fatalf("revoked token: %v", err)
		}
		if _, _, err := s.CreateToken(ctx, "stf_nobody", "x", 0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("token for nobody: %v", err)
		}
	})
}

func TestRoles(t *testing.T) {
	for _, c := range []struct {
		role staff.Role
		can  []staff.Permission
		not  []staff.Permission
	}{
		{staff.RoleAdmin, []staff.Permission{staff.ManageStaff, staff.ManagePolicy, staff.ViewContent}, []staff.Permission{staff.Bootstrap}},
		{staff.RolePolicy, []staff.Permission{staff.ManagePolicy, staff.ViewPolicy}, []staff.Permission{staff.ManageStaff, staff.ViewAudit, staff.ManageSanctions}},
		{staff.RoleReviewer, []staff.Permission{staff.ManageSanctions, staff.AnswerComplaint}, []staff.Permission{staff.ViewPolicy, staff.ManageStaff, staff.ViewAudit}},
		{staff.RoleAuditor, []staff.Permission{staff.ViewAudit, staff.ViewContent}, []staff.Permission{staff.ManagePolicy, staff.ManageSanctions, staff.EraseContent}},
		{staff.RoleViewer, []staff.Permission{staff.ViewDashboard}, []staff.Permission{staff.ViewAudit, staff.ViewTenants}},
	} {
		for _, p := range c.can {
			if !c.role.Can(p) {
				t.Errorf("%s cannot %s", c.role, p)
			}
		}
		for _, p := range c.not {
			if c.role.Can(p) {
				t.Errorf("%s can %s", c.role, p)
			}
		}
	}
	b := staff.BootstrapPrincipal()
	if !b.Can(staff.Bootstrap) || b.Can(staff.ViewDashboard) || b.Actor() != "bootstrap-token" {
		t.Fatalf("bootstrap principal: %+v", b)
	}
}
