package sanction_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/sanction"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

const day = 24 * time.Hour

// step is one event of a ladder scenario.
type step struct {
	do   string        // "v" violation, "r" review violation, "clean", "wait", "at", "lift"
	d    time.Duration // for wait
	at   time.Time     // for at
	want sanction.Action
}

func v(want sanction.Action) step      { return step{do: "v", want: want} }
func review(want sanction.Action) step { return step{do: "r", want: want} }
func wait(d time.Duration) step        { return step{do: "wait", d: d} }
func at(t time.Time) step              { return step{do: "at", at: t} }
func clean() step                      { return step{do: "clean"} }
func liftLast() step                   { return step{do: "lift"} }

// repeat returns n copies of s.
func repeat(n int, s ...step) []step {
	var out []step
	for range n {
		out = append(out, s...)
	}
	return out
}

func join(parts ...[]step) []step {
	var out []step
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// shanghai returns a wall time in Asia/Shanghai.
func shanghai(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, time.FixedZone("CST", 8*3600))
}

func TestLadder(t *testing.T) {
	const (
		N = sanction.None
		W = sanction.Warn
		S = sanction.Suspend
		T = sanction.Terminate
	)
	suspend := []step{v(W), v(W), v(S)}
	cases := []struct {
		name  string
		steps []step
		want  sanction.Action // standing at the end
	}{
		{"first violation warns", []step{v(W)}, W},
		{"warning lapses after a day", []step{v(W), wait(day + time.Minute)}, N},
		{"three in a row suspend", suspend, S},
		{"a clean input resets in a row", []step{v(W), v(W), clean(), v(W), v(W)}, W},
		{"five in one day suspend", join(repeat(4, v(W), clean()), []step{v(S)}), S},
		{"four before midnight and one after are not five in one day", join(
			[]step{at(shanghai(2025, 11, 1, 23, 0))},
			repeat(4, v(W), clean(), wait(10*time.Minute)),
			[]step{at(shanghai(2025, 11, 2, 0, 5)), v(W), clean()},
			repeat(3, v(W), clean()),
			[]step{v(S)}), S},
		{"suspension ends after seven days", join(suspend, []step{wait(7*day - time.Minute)}), S},
		{"suspension expired", join(suspend, []step{wait(7*day + time.Minute)}), N},
		{"escalation spends the strikes", join(suspend, []step{v(W)}), S},
		{"second suspension within 90 days terminates", join(suspend, []step{wait(8 * day)}, []step{v(W), v(W), v(T)}), T},
		{"terminated user gets no further steps", join(suspend, []step{wait(8 * day)}, []step{v(W), v(W), v(T), v(N), wait(400 * day)}), T},
		{"second suspension after 90 days suspends", join(suspend, []step{wait(91 * day)}, suspend), S},
		{"lifted suspension", join(suspend, []step{liftLast()}), W},
		{"lifted suspension does not count towards termination", join(suspend, []step{liftLast()}, suspend), S},
		{"review violations are not in a row", []step{review(W), review(W), review(W)}, W},
		{"review violations count per day", join(repeat(4, review(W)), []step{review(S)}), S},
	}
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				c := newClock()
				s := newService(t, db, sanction.Options{Now: c.Now})
				user := fmt.Sprintf("usr_%d", i)
				run(t, s, c, user, tc.steps)
				st, err := s.Standing(context.Background(), "ten_1", user)
				if err != nil {
					t.Fatal(err)
				}
				if st.Action != tc.want {
					t.Errorf("standing = %v, want %v", st.Action, tc.want)
				}
			})
		}
	})
}

// run plays steps for user and checks what each violation imposed.
func run(t *testing.T, s *sanction.Service, c *clock, user string, steps []step) {
	t.Helper()
	ctx := context.Background()
	var last *sanction.Sanction
	for i, st := range steps {
		switch st.do {
		case "v", "r":
			vi := sanction.Violation{TenantID: "ten_1", EndUserID: user, Code: "A1a", Evidence: []string{fmt.Sprint("req_", i)}}
			if st.do == "r" {
				vi.Source, vi.Actor = sanction.SourceReview, "rev_1"
			}
			out, err := s.RecordViolation(ctx, vi)
			if err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
			got := sanction.None
			if out.Sanction != nil {
				got, last = out.Sanction.Action, out.Sanction
			}
			if !out.Counted || got != st.want || out.Warn != (got != sanction.None) {
				t.Fatalf("step %d: imposed %v (counted %v, warn %v), want %v", i, got, out.Counted, out.Warn, st.want)
			}
		case "clean":
			if err := s.RecordClean(ctx, "ten_1", user); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
		case "wait":
			c.Add(st.d)
		case "at":
			c.Set(st.at)
		case "lift":
			if _, err := s.Lift(ctx, last.ID, "adm_1", "appeal upheld"); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
		}
	}
}

func TestConcurrentViolations(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db, sanction.Options{Now: newClock().Now})
		const n = 20
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				_, err := s.RecordViolation(ctx, sanction.Violation{TenantID: "ten_1", EndUserID: "usr_1", Code: "A2b",
					Evidence: []string{fmt.Sprint("req_", i)}})
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		vs, err := s.Violations(ctx, "ten_1", "usr_1", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(vs) != n || vs[0].Seq != n || vs[n-1].Seq != 1 {
			t.Fatalf("got %d violations, seq %d..%d, want %d, 1..%d", len(vs), vs[n-1].Seq, vs[0].Seq, n, n)
		}
		seqOf := map[string]int64{}
		for _, v := range vs {
			seqOf[v.ID] = v.Seq
		}
		hist, err := s.History(ctx, "ten_1", "usr_1", 0)
		if err != nil {
			t.Fatal(err)
		}
		sort.Slice(hist, func(i, j int) bool { return seqOf[hist[i].ViolationID] < seqOf[hist[j].ViolationID] })
		var got []string
		for _, h := range hist {
			got = append(got, fmt.Sprintf("%d:%v", seqOf[h.ViolationID], h.Action))
		}
		want := "1:warn 2:warn 3:suspend 4:warn 5:warn 6:terminate"
		if strings.Join(got, " ") != want {
			t.Errorf("history = %v, want %v", got, want)
		}
	})
}

func TestStrikeCodes(t *testing.T) {
	cases := []struct {
		name    string
		codes   []string
		code    string
		counted bool
	}{
		{"A1 bears strikes by default", nil, "A1d", true},
		{"A2 bears strikes by default", nil, "A2i", true},
		{"A3 does not by default", nil, "A3a", false},
		{"configured class", []string{"A4"}, "A4e", true},
		{"configured exact code", []string{"A4e"}, "A4f", false},
	}
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				s := newService(t, db, sanction.Options{StrikeCodes: tc.codes})
				user := fmt.Sprint("usr_", i)
				out, err := s.RecordViolation(context.Background(), sanction.Violation{TenantID: "ten_1", EndUserID: user, Code: tc.code})
				if err != nil {
					t.Fatal(err)
				}
				vs, err := s.Violations(context.Background(), "ten_1", user, 0)
				if err != nil {
					t.Fatal(err)
				}
				if out.Counted != tc.counted || (len(vs) == 1) != tc.counted || out.Warn != tc.counted {
					t.Errorf("counted %v, %d recorded, warn %v; want counted %v", out.Counted, len(vs), out.Warn, tc.counted)
				}
			})
		}
	})
}

func TestViolationRecord(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := newClock()
		s := newService(t, db, sanction.Options{Now: c.Now})
		entered := c.Now().Add(-time.Hour)
		_, err := s.RecordViolation(ctx, sanction.Violation{TenantID: "ten_1", EndUserID: "usr_1", Code: "A1g",
			Source: sanction.SourceReview, Actor: "rev_9", Evidence: []string{"aud_1", "req_1"}, Time: entered})
		if err != nil {
			t.Fatal(err)
		}
		vs, err := s.Violations(ctx, "ten_1", "usr_1", 0)
		if err != nil || len(vs) != 1 {
			t.Fatalf("violations = %v, %v", vs, err)
		}
		got := vs[0]
		if got.Code != "A1g" || got.Source != sanction.SourceReview || got.Actor != "rev_9" ||
			strings.Join(got.Evidence, ",") != "aud_1,req_1" || !got.Time.Equal(entered) || !got.RecordedAt.Equal(c.Now()) {
			t.Errorf("recorded %+v", got)
		}
	})
}

func TestViolationValidation(t *testing.T) {
	long := strings.Repeat("x", sanction.MaxEvidenceLen+1)
	cases := []struct {
		name string
		v    sanction.Violation
	}{
		{"no tenant", sanction.Violation{EndUserID: "u", Code: "A1a"}},
		{"no user", sanction.Violation{TenantID: "t", Code: "A1a"}},
		{"no code", sanction.Violation{TenantID: "t", EndUserID: "u"}},
		{"bad source", sanction.Violation{TenantID: "t", EndUserID: "u", Code: "A1a", Source: "guess"}},
		{"long evidence", sanction.Violation{TenantID: "t", EndUserID: "u", Code: "A1a", Evidence: []string{long}}},
		{"empty evidence", sanction.Violation{TenantID: "t", EndUserID: "u", Code: "A1a", Evidence: []string{""}}},
	}
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		s := newService(t, db, sanction.Options{})
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				if _, err := s.RecordViolation(context.Background(), tc.v); err == nil {
					t.Error("accepted")
				}
			})
		}
	})
}

func TestOutcomeTellsTheUser(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := newClock()
		s := newService(t, db, sanction.Options{Now: c.Now})
		if st, err := s.Standing(ctx, "ten_1", "usr_1"); err != nil || st.Action != sanction.None {
			t.Fatalf("standing before = %+v, %v", st, err)
		}
		var out sanction.Outcome
		for range 3 {
			var err error
			out, err = s.RecordViolation(ctx, sanction.Violation{TenantID: "ten_1", EndUserID: "usr_1", Code: "A1c"})
			if err != nil {
				t.Fatal(err)
			}
		}
		until := c.Now().Add(7 * day)
		if h := out.Header(); h != "suspend; until="+until.UTC().Format(time.RFC3339) {
			t.Errorf("header = %q", h)
		}
		if !strings.Contains(out.Notice, "2025-11-08 12:00") {
			t.Errorf("notice %q does not name the end in Shanghai time", out.Notice)
		}
		if out.Standing.Action != sanction.Suspend || !out.Standing.Until.Equal(until) || out.Standing.Allowed() {
			t.Errorf("standing = %+v", out.Standing)
		}
		// The standing cached before the violations was dropped at once.
		if st, err := s.Standing(ctx, "ten_1", "usr_1"); err != nil || st.Action != sanction.Suspend {
			t.Errorf("standing after = %+v, %v", st, err)
		}
		var oe *clienterr.Error
		if err := out.Standing.Err(); !errors.As(err, &oe) || oe.Code != clienterr.Forbidden {
			t.Errorf("standing error = %v, want %s", err, clienterr.Forbidden)
		}
	})
}
