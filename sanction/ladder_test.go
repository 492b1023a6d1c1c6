package sanction_test

import (
	"context"
	"testing"
	"time"

	"github.com/firebreak/firebreak/sanction"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

func TestLadderValidate(t *testing.T) {
	cases := []struct {
		name string
		l    sanction.Ladder
		ok   bool
	}{
		{"default", sanction.DefaultLadder(), true},
		{"empty", sanction.Ladder{Steps: []sanction.Step{}}, false},
		{"no threshold", sanction.Ladder{Steps: []sanction.Step{{Action: sanction.Warn}}}, false},
		{"action none", sanction.Ladder{Steps: []sanction.Step{{Trigger: sanction.Trigger{Total: 1}}}}, false},
		{"negative count", sanction.Ladder{Steps: []sanction.Step{{Trigger: sanction.Trigger{InARow: -1, Total: 1}, Action: sanction.Warn}}}, false},
		{"negative duration", sanction.Ladder{Steps: []sanction.Step{{Trigger: sanction.Trigger{Total: 1}, Action: sanction.Warn, Duration: -time.Second}}}, false},
		{"repeat without of", sanction.Ladder{Steps: []sanction.Step{{Trigger: sanction.Trigger{Repeat: 2}, Action: sanction.Terminate}}}, false},
		{"limits on a warning", sanction.Ladder{Steps: []sanction.Step{{Trigger: sanction.Trigger{Total: 1}, Action: sanction.Warn,
			Restrict: sanction.Restriction{RPM: 1}}}}, false},
		{"restrict", sanction.Ladder{Steps: []sanction.Step{{Trigger: sanction.Trigger{Total: 2, Window: time.Hour}, Action: sanction.Restrict,
			Restrict: sanction.Restriction{RPM: 1, Models: []string{"general"}}}}}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.l.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate() = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

func TestParseAction(t *testing.T) {
	for _, a := range []sanction.Action{sanction.None, sanction.Warn, sanction.Restrict, sanction.Suspend, sanction.Terminate} {
		got, err := sanction.ParseAction(a.String())
		if err != nil || got != a {
			t.Errorf("ParseAction(%q) = %v, %v", a.String(), got, err)
		}
	}
	if _, err := sanction.ParseAction("ban"); err == nil {
		t.Error("ParseAction(ban) accepted")
	}
}

func TestNewRejects(t *testing.T) {
	db := storetest.Open(t, store.Options{DataDir: t.TempDir()})
	cases := []struct {
		name string
		opts sanction.Options
	}{
		{"no store", sanction.Options{Secret: testSecret}},
		{"no secret", sanction.Options{DB: db}},
		{"short secret", sanction.Options{DB: db, Secret: []byte("short")}},
		{"bad ladder", sanction.Options{DB: db, Secret: testSecret, Ladder: sanction.Ladder{Steps: []sanction.Step{{}}}}},
		{"empty strike code", sanction.Options{DB: db, Secret: testSecret, StrikeCodes: []string{""}}},
		{"negative ttl", sanction.Options{DB: db, Secret: testSecret, CacheTTL: -1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := sanction.New(context.Background(), tc.opts)
			if err == nil {
				_ = s.Close()
				t.Fatal("accepted")
			}
		})
	}
}

// A custom ladder: restrict on 2 violations within an hour, then suspend
// on the second restriction.
func TestCustomLadder(t *testing.T) {
	l := sanction.Ladder{Steps: []sanction.Step{
		{Trigger: sanction.Trigger{Total: 2, Window: time.Hour}, Action: sanction.Restrict, Duration: day,
			Restrict: sanction.Restriction{RPM: 2, Models: []string{"general"}}},
		{Trigger: sanction.Trigger{Repeat: 2, Of: sanction.Restrict}, Action: sanction.Suspend, Duration: 30 * day},
	}}
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		c := newClock()
		s := newService(t, db, sanction.Options{Now: c.Now, Ladder: l})
		run(t, s, c, "usr_1", []step{
			v(sanction.None), wait(2 * time.Hour), v(sanction.None), wait(time.Minute), v(sanction.Restrict),
			v(sanction.None), wait(time.Minute), v(sanction.Suspend),
		})
		hist, err := s.History(context.Background(), "ten_1", "usr_1", 0)
		if err != nil || len(hist) != 2 {
			t.Fatalf("history = %v, %v", hist, err)
		}
		r := hist[1]
		if r.Action != sanction.Restrict || r.Restrict.RPM != 2 || r.Restrict.Models[0] != "general" || r.Actor != sanction.ActorSystem ||
			r.Reason != "2 violations within 1h0m0s" {
			t.Errorf("restriction recorded as %+v", r)
		}
		if want := "2 violations within 1h0m0s (restrict number 2)"; hist[0].Reason != want {
			t.Errorf("suspension reason = %q, want %q", hist[0].Reason, want)
		}
	})
}
