package identity_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/identity"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

func TestNormalizePhone(t *testing.T) {
	tests := []struct {
		in, want string // want "" = rejected
	}{
		{"13812345678", "13812345678"},
		{"+8613812345678", "13812345678"},
		{"+86 138 1234 5678", "13812345678"},
		{"0086-138-1234-5678", "13812345678"},
		{"8619912345678", "19912345678"},
		{" 16612345678 ", "16612345678"},
		{"12812345678", ""},     // second digit 2
		{"1381234567", ""},      // 10 digits
		{"138123456789", ""},    // 12 digits
		{"14012345678", ""},     // IoT segment
		{"15412345678", ""},     // never allocated
		{"23812345678", ""},     // not a mobile
		{"138a2345678", ""},     // letter
		{"++8613812345678", ""}, // two pluses
		{"", ""},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := identity.NormalizePhone(tc.in)
			if tc.want == "" {
				if !errors.Is(err, identity.ErrBadPhone) {
					t.Fatalf("NormalizePhone(%q) = %q, %v; want ErrBadPhone", tc.in, got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("NormalizePhone(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestPhoneFlow(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		// One number for every case: the daily limit (tested below) is off.
		e := newEnv(t, db, identity.Options{Phone: identity.PhoneOptions{PerPhoneDay: -1}})
		const phone = "13812345678"
		// fresh starts a new code for a new user at a new minute and
		// returns the user's ID and the code.
		n := 0
		fresh := func(t *testing.T) (string, string) {
			t.Helper()
			n++
			e.clock.Add(time.Minute)
			u := e.user(t, fmt.Sprintf("user%d", n))
			if err := e.svc.StartPhone(ctx, e.tenant.ID, u.ID, phone, ""); err != nil {
				t.Fatal(err)
			}
			return u.ID, e.sms.lastCode(t)
		}
		confirm := func(userID, code string) error {
			return e.svc.ConfirmPhone(ctx, e.tenant.ID, userID, phone, code)
		}
		wrong := func(code string) string { return fmt.Sprintf("%06d", (atoi(code)+1)%1_000_000) }

		t.Run("message", func(t *testing.T) {
			fresh(t)
			msg := e.sms.sent[len(e.sms.sent)-1]
			if msg.phone != phone || !strings.Contains(msg.message, "5 分钟") {
				t.Fatalf("sent %+v", msg)
			}
		})
		t.Run("wrong code then right code", func(t *testing.T) {
			id, code := fresh(t)
			oe := refusal(t, confirm(id, wrong(code)), clienterr.InvalidRequest, identity.ErrWrongCode)
			if oe.Message != "wrong verification code; 4 attempts left" {
				t.Fatalf("message %q", oe.Message)
			}
			if err := confirm(id, code); err != nil {
				t.Fatalf("right code after one wrong: %v", err)
			}
		})
		t.Run("replay of a used code", func(t *testing.T) {
			id, code := fresh(t)
			if err := confirm(id, code); err != nil {
				t.Fatal(err)
			}
			refusal(t, confirm(id, code), clienterr.InvalidRequest, identity.ErrCodeUsed)
		})
		t.Run("expired", func(t *testing.T) {
			id, code := fresh(t)
			e.clock.Add(5*time.Minute + time.Millisecond)
			refusal(t, confirm(id, code), clienterr.InvalidRequest, identity.ErrCodeExpired)
		})
		t.Run("just before expiry", func(t *testing.T) {
			id, code := fresh(t)
			e.clock.Add(5*time.Minute - time.Millisecond)
			if err := confirm(id, code); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("too many attempts kill the code", func(t *testing.T) {
			id, code := fresh(t)
			for range 5 {
				refusal(t, confirm(id, wrong(code)), clienterr.InvalidRequest, identity.ErrWrongCode)
			}
			refusal(t, confirm(id, code), clienterr.InvalidRequest, identity.ErrTooManyAttempts)
		})
		t.Run("code for another number", func(t *testing.T) {
			id, code := fresh(t)
			err := e.svc.ConfirmPhone(ctx, e.tenant.ID, id, "13900000000", code)
			refusal(t, err, clienterr.InvalidRequest, identity.ErrWrongCode)
		})
		t.Run("new code replaces the old", func(t *testing.T) {
			id, old := fresh(t)
			e.clock.Add(time.Minute)
			if err := e.svc.StartPhone(ctx, e.tenant.ID, id, phone, ""); err != nil {
				t.Fatal(err)
			}
			code := e.sms.lastCode(t)
			if old != code {
				refusal(t, confirm(id, old), clienterr.InvalidRequest, identity.ErrWrongCode)
			}
			if err := confirm(id, code); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("no code requested", func(t *testing.T) {
			u := e.user(t, "never")
			refusal(t, confirm(u.ID, "123456"), clienterr.InvalidRequest, identity.ErrNoCode)
		})
		t.Run("bad number", func(t *testing.T) {
			u := e.user(t, "badnum")
			oe := refusal(t, e.svc.StartPhone(ctx, e.tenant.ID, u.ID, "12345", ""), clienterr.InvalidRequest, identity.ErrBadPhone)
			if oe.Param != "phone" {
				t.Fatalf("param %q", oe.Param)
			}
		})
		t.Run("user of another tenant", func(t *testing.T) {
			u := e.user(t, "other")
			err := e.svc.StartPhone(ctx, "ten_other", u.ID, phone, "")
			refusal(t, err, clienterr.NotFound, identity.ErrUnknownUser)
			refusal(t, e.svc.StartPhone(ctx, e.tenant.ID, "usr_missing", phone, ""), clienterr.NotFound, identity.ErrUnknownUser)
		})
		t.Run("sender failure", func(t *testing.T) {
			e.clock.Add(time.Minute)
			e.sms.fail = errors.New("gateway down")
			defer func() { e.sms.fail = nil }()
			u := e.user(t, "sendfail")
			refusal(t, e.svc.StartPhone(ctx, e.tenant.ID, u.ID, "13700000000", ""), clienterr.Unavailable, nil)
		})
	})
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func TestSendLimits(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, identity.Options{Phone: identity.PhoneOptions{PerIPHour: 3}})
		// Start at the top of a local day, on a round hour.
		e.clock.Set(time.Date(2025, 11, 2, 0, 0, 0, 0, shanghai))
		u := e.user(t, "limited")
		start := func(phone, ip string) error { return e.svc.StartPhone(ctx, e.tenant.ID, u.ID, phone, ip) }

		t.Run("per phone per minute", func(t *testing.T) {
			if err := start("13800000001", ""); err != nil {
				t.Fatal(err)
			}
			e.clock.Add(30 * time.Second)
			oe := refusal(t, start("13800000001", ""), clienterr.RateLimited, identity.ErrSendLimited)
			if oe.RetryAfter != 30*time.Second {
				t.Fatalf("RetryAfter = %v, want 30s", oe.RetryAfter)
			}
			if err := start("13800000002", ""); err != nil {
				t.Fatalf("another number in the same minute: %v", err)
			}
			e.clock.Add(30 * time.Second)
			if err := start("13800000001", ""); err != nil {
				t.Fatalf("next minute: %v", err)
			}
		})
		t.Run("per phone per day", func(t *testing.T) {
			sent := e.sms.count()
			for i := range 5 {
				e.clock.Add(time.Minute)
				if err := start("13800000003", ""); err != nil {
					t.Fatalf("send %d today: %v", i+1, err)
				}
			}
			e.clock.Add(time.Minute)
			refusal(t, start("13800000003", ""), clienterr.RateLimited, identity.ErrSendLimited)
			if got := e.sms.count() - sent; got != 5 {
				t.Fatalf("sent %d messages, want 5", got)
			}
			e.clock.Set(time.Date(2025, 11, 3, 0, 0, 0, 0, shanghai))
			if err := start("13800000003", ""); err != nil {
				t.Fatalf("next local day: %v", err)
			}
		})
		t.Run("per ip per hour", func(t *testing.T) {
			e.clock.Set(time.Date(2025, 11, 4, 10, 0, 0, 0, shanghai))
			for i := range 3 {
				if err := start(fmt.Sprintf("1390000000%d", i), "203.0.113.7"); err != nil {
					t.Fatalf("send %d: %v", i, err)
				}
			}
			refusal(t, start("13900000009", "203.0.113.7"), clienterr.RateLimited, identity.ErrSendLimited)
			// A refused request consumed nothing: that number can still get a code.
			if err := start("13900000009", "198.51.100.1"); err != nil {
				t.Fatalf("same number from another address: %v", err)
			}
			e.clock.Add(time.Hour)
			if err := start("13900000008", "203.0.113.7"); err != nil {
				t.Fatalf("next hour: %v", err)
			}
		})
	})
}

// TestConcurrentConfirm races several confirmations of one right code:
// exactly one may win, the rest see a used code.
func TestConcurrentConfirm(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, identity.Options{})
		u := e.user(t, "racer")
		if err := e.svc.StartPhone(ctx, e.tenant.ID, u.ID, "13812345678", ""); err != nil {
			t.Fatal(err)
		}
		code := e.sms.lastCode(t)
		const n = 4
		errs := make(chan error, n)
		for range n {
			go func() { errs <- e.svc.ConfirmPhone(ctx, e.tenant.ID, u.ID, "13812345678", code) }()
		}
		wins := 0
		for range n {
			err := <-errs
			if err == nil {
				wins++
				continue
			}
			refusal(t, err, clienterr.InvalidRequest, identity.ErrCodeUsed)
		}
		if wins != 1 {
			t.Fatalf("%d confirmations won, want 1", wins)
		}
	})
}
