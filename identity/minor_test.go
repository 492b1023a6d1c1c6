package identity_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/identity"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

func local(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, shanghai)
}

// minor verifies u with the ID number of someone born on birth (YYYYMMDD).
func (e *env) idVerified(t *testing.T, external, birth string) *account.EndUser {
	t.Helper()
	u := e.user(t, external)
	if err := e.svc.VerifyIDDocument(context.Background(), u, "小明", idFor(birth)); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestComingOfAge(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, identity.Options{Minors: identity.MinorOptions{QuietHours: "off"}})
		e.clock.Set(local(2025, 11, 1, 12, 0))
		turning := e.idVerified(t, "turning", "20071102") // 18 at 2025-11-02 00:00 in Shanghai
		adult := e.idVerified(t, "adult", "20071101")     // 18 today
		leap := e.idVerified(t, "leap", "20080229")       // 18 on 2026-03-01
		if st := e.state(t, adult); st.Minor || !st.MinorUntil.IsZero() {
			t.Fatalf("adult stored as minor: %+v", st)
		}
		if st := e.state(t, turning); !st.Minor || !st.MinorUntil.Equal(local(2025, 11, 2, 0, 0)) {
			t.Fatalf("turning state = %+v", st)
		}
		tests := []struct {
			name  string
			u     *account.EndUser
			now   time.Time
			minor bool
		}{
			{"last instant before the birthday", turning, local(2025, 11, 2, 0, 0).Add(-time.Nanosecond), true},
			// Still 1 November in UTC: the zone decides.
			{"local midnight of the birthday", turning, local(2025, 11, 2, 0, 0), false},
			{"18th birthday today", adult, local(2025, 11, 1, 12, 0), false},
			{"29 February, 28 February of a common year", leap, local(2026, 2, 28, 23, 59), true},
			{"29 February, 1 March of a common year", leap, local(2026, 3, 1, 0, 0), false},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				overlay, err := e.svc.Overlay(ctx, tc.u, tc.now)
				if err != nil {
					t.Fatal(err)
				}
				if (overlay == "minors") != tc.minor {
					t.Fatalf("overlay at %s = %q, want minor %v", tc.now, overlay, tc.minor)
				}
			})
		}
		t.Run("purge forgets the date once of age", func(t *testing.T) {
			e.clock.Set(local(2025, 11, 2, 0, 1))
			if err := e.svc.Purge(ctx); err != nil {
				t.Fatal(err)
			}
			e.svc.Invalidate("")
			if st := e.state(t, turning); st.Minor || !st.MinorUntil.IsZero() {
				t.Fatalf("after purge: %+v", st)
			}
			if st := e.state(t, leap); !st.Minor {
				t.Fatalf("purge cleared a minor: %+v", st)
			}
		})
	})
}

func TestQuietHours(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, identity.Options{Minors: identity.MinorOptions{DailyRequests: -1}})
		day := newEnv(t, db, identity.Options{Minors: identity.MinorOptions{DailyRequests: -1, QuietHours: "13:00-14:30"}})
		kid := e.idVerified(t, "kid", "20120601")
		grown := e.idVerified(t, "grown", "19800101")
		dayKid := day.idVerified(t, "kid", "20120601")
		tests := []struct {
			name  string
			s     *identity.Service
			u     *account.EndUser
			now   time.Time
			until time.Time // zero = allowed
		}{
			{"before", e.svc, kid, local(2025, 11, 1, 21, 59), time.Time{}},
			{"start", e.svc, kid, local(2025, 11, 1, 22, 0), local(2025, 11, 2, 6, 0)},
			{"before midnight", e.svc, kid, local(2025, 11, 1, 23, 59), local(2025, 11, 2, 6, 0)},
			{"midnight", e.svc, kid, local(2025, 11, 2, 0, 0), local(2025, 11, 2, 6, 0)},
			{"last minute", e.svc, kid, local(2025, 11, 2, 5, 59), local(2025, 11, 2, 6, 0)},
			{"end", e.svc, kid, local(2025, 11, 2, 6, 0), time.Time{}},
			{"adult at night", e.svc, grown, local(2025, 11, 1, 23, 0), time.Time{}},
			{"daytime range inside", day.svc, dayKid, local(2025, 11, 1, 14, 29), local(2025, 11, 1, 14, 30)},
			{"daytime range after", day.svc, dayKid, local(2025, 11, 1, 14, 30), time.Time{}},
			{"daytime range at night", day.svc, dayKid, local(2025, 11, 1, 23, 0), time.Time{}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				err := tc.s.MinorGate(ctx, tc.u, tc.now.UTC())
				if tc.until.IsZero() {
					if err != nil {
						t.Fatalf("MinorGate = %v", err)
					}
					return
				}
				oe := refusal(t, err, clienterr.Forbidden, identity.ErrQuietHours)
				var me *identity.MinorError
				if !errors.As(err, &me) || !me.Until.Equal(tc.until) {
					t.Fatalf("until = %v, want %v", me, tc.until)
				}
				if tc.s == e.svc && oe.Message != "minors' mode: service is closed between 22:00 and 06:00" {
					t.Fatalf("message %q", oe.Message)
				}
			})
		}
	})
}

func TestDailyCap(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		opts := identity.Options{Minors: identity.MinorOptions{DailyRequests: 3, QuietHours: "off"}}
		e := newEnv(t, db, opts)
		opts.DB, opts.Users, opts.Secret, opts.Now = db, e.accounts.Users, testSecret, e.clock.Now
		replica := newService(t, opts)
		kid := e.idVerified(t, "kid", "20120601")
		grown := e.idVerified(t, "grown", "19800101")
		gate := func(s *identity.Service, u *account.EndUser, now time.Time) error { return s.MinorGate(ctx, u, now) }

		night := local(2025, 11, 1, 23, 58)
		for i, s := range []*identity.Service{e.svc, replica, e.svc} {
			if err := gate(s, kid, night); err != nil {
				t.Fatalf("request %d: %v", i+1, err)
			}
		}
		for _, s := range []*identity.Service{replica, e.svc} {
			oe := refusal(t, gate(s, kid, night), clienterr.QuotaExceeded, identity.ErrDailyLimit)
			if oe.RetryAfter != 2*time.Minute || oe.Code != clienterr.QuotaExceeded {
				t.Fatalf("RetryAfter %v code %s", oe.RetryAfter, oe.Code)
			}
			if oe.Message != "minors' mode: daily limit of 3 requests reached; try again tomorrow" {
				t.Fatalf("message %q", oe.Message)
			}
		}
		for i := range 3 {
			if err := gate(e.svc, kid, local(2025, 11, 2, 0, 0)); err != nil {
				t.Fatalf("after midnight, request %d: %v", i+1, err)
			}
		}
		refusal(t, gate(replica, kid, local(2025, 11, 2, 0, 1)), clienterr.QuotaExceeded, identity.ErrDailyLimit)
		for i := range 10 {
			if err := gate(e.svc, grown, night); err != nil {
				t.Fatalf("adult request %d: %v", i+1, err)
			}
		}
		if cells := dumpTable(t, db, "identity_counters"); len(cells) != 8 {
			t.Fatalf("counters hold %d cells, want 2 rows of 4 (no adult counted)", len(cells))
		}
	})
}

func TestAttestMinor(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, identity.Options{Bus: openBus(t, db)})
		u := e.user(t, "tok")
		c := &identity.Claims{Subject: "tok", Level: identity.LevelPhone, Minor: true, AgeClaimed: true,
			MinorUntil: local(2027, 5, 1, 0, 0)}
		for range 3 {
			if err := e.svc.Attest(ctx, u, c); err != nil {
				t.Fatal(err)
			}
		}
		if got := published(t, db, u.ID); len(got) != 1 {
			t.Fatalf("%d changes published for the same claims three times, want 1", len(got))
		}
		refusal(t, e.svc.MinorGate(ctx, u, local(2025, 11, 1, 23, 0)), clienterr.Forbidden, identity.ErrQuietHours)

		// A token without an age claim keeps the minor status.
		if err := e.svc.Attest(ctx, u, &identity.Claims{Subject: "tok", Level: identity.LevelAttested}); err != nil {
			t.Fatal(err)
		}
		if st := e.state(t, u); st.Level != identity.LevelAttested || !st.Minor {
			t.Fatalf("state = %+v", st)
		}
		other := &identity.Claims{Subject: "someone-else", Level: identity.LevelAttested}
		refusal(t, e.svc.Attest(ctx, u, other), clienterr.Forbidden, identity.ErrBadToken)
	})
}

// TestDailyCapConcurrent sends more requests than the cap from several
// goroutines on two replicas: exactly the cap gets through.
func TestDailyCapConcurrent(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		opts := identity.Options{Minors: identity.MinorOptions{DailyRequests: 7, QuietHours: "off"}}
		e := newEnv(t, db, opts)
		opts.DB, opts.Users, opts.Secret, opts.Now = db, e.accounts.Users, testSecret, e.clock.Now
		replicas := []*identity.Service{e.svc, newService(t, opts)}
		kid := e.idVerified(t, "kid", "20120601")
		const workers, each = 4, 5
		allowed := make(chan bool, workers*each)
		failed := make(chan error, workers*each)
		for w := range workers {
			go func() {
				for range each {
					err := replicas[w%2].MinorGate(ctx, kid, e.clock.Now())
					switch {
					case err == nil:
						allowed <- true
					case errors.Is(err, identity.ErrDailyLimit):
						allowed <- false
					default:
						failed <- err
						allowed <- false
					}
				}
			}()
		}
		got := 0
		for range workers * each {
			if <-allowed {
				got++
			}
		}
		close(failed)
		for err := range failed {
			t.Errorf("MinorGate: %v", err)
		}
		if got != 7 {
			t.Fatalf("%d requests allowed, want 7", got)
		}
		e.clock.Add(48 * time.Hour)
		if err := e.svc.Purge(ctx); err != nil {
			t.Fatal(err)
		}
		if cells := dumpTable(t, db, "identity_counters"); len(cells) != 0 {
			t.Fatalf("purge left %d counter cells", len(cells))
		}
	})
}
