package sanction_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/firebreak/firebreak/sanction"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

// mustAdd adds e or fails the test.
func mustAdd(t testing.TB, s *sanction.Service, e sanction.Entry) *sanction.Entry {
	t.Helper()
	if e.Reason == "" {
		e.Reason = "test"
	}
	if e.CreatedBy == "" {
		e.CreatedBy = "adm_1"
	}
	out, err := s.AddEntry(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// hashOf returns hash(v) or fails the test.
func hashOf(t testing.TB, hash func(string) (string, error), v string) string {
	t.Helper()
	h, err := hash(v)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestBlocked(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		s := newService(t, db, sanction.Options{})
		ids := map[string]string{}
		for name, e := range map[string]sanction.Entry{
			"user":   {TenantID: "ten_1", Kind: sanction.KindUser, Value: "usr_bad"},
			"device": {TenantID: "ten_1", Kind: sanction.KindDevice, Value: "dev-42"},
			"phone":  {TenantID: "ten_1", Kind: sanction.KindPhone, Value: "+86 138-0013-8000"},
			"id":     {TenantID: "ten_1", Kind: sanction.KindIDNumber, Value: "11010519491231002x"},
			"ip4":    {TenantID: "ten_1", Kind: sanction.KindIP, Value: "198.51.100.7"},
			"net4":   {TenantID: "ten_1", Kind: sanction.KindIP, Value: "203.0.113.99/24"},
			"net6":   {TenantID: "ten_1", Kind: sanction.KindIP, Value: "2001:db8:1::/48"},
			"ip6":    {TenantID: "ten_1", Kind: sanction.KindIP, Value: "2001:db8:2::1"},
			"global": {Kind: sanction.KindIP, Value: "192.0.2.0/25"},
			"other":  {TenantID: "ten_2", Kind: sanction.KindUser, Value: "usr_ok"},
		} {
			ids[name] = mustAdd(t, s, e).ID
		}
		phone := hashOf(t, s.HashPhone, "13800138000")
		idn := hashOf(t, s.HashIDNumber, "11010519491231002X")
		ip := netip.MustParseAddr
		cases := []struct {
			name string
			sub  sanction.Subject
			want string // entry name, "" for none
		}{
			{"clean subject", sanction.Subject{TenantID: "ten_1", EndUserID: "usr_ok", IP: ip("198.51.100.8"), DeviceID: "dev-1"}, ""},
			{"user", sanction.Subject{TenantID: "ten_1", EndUserID: "usr_bad"}, "user"},
			{"user of another tenant", sanction.Subject{TenantID: "ten_2", EndUserID: "usr_bad"}, ""},
			{"tenant entry", sanction.Subject{TenantID: "ten_2", EndUserID: "usr_ok"}, "other"},
			{"device", sanction.Subject{TenantID: "ten_1", DeviceID: "dev-42"}, "device"},
			{"phone written another way", sanction.Subject{TenantID: "ten_1", PhoneHash: phone}, "phone"},
			{"identity number, lower-case x", sanction.Subject{TenantID: "ten_1", IDHash: idn}, "id"},
			{"IPv4 address", sanction.Subject{TenantID: "ten_1", IP: ip("198.51.100.7")}, "ip4"},
			{"IPv4 neighbour", sanction.Subject{TenantID: "ten_1", IP: ip("198.51.100.6")}, ""},
			{"IPv4 in range", sanction.Subject{TenantID: "ten_1", IP: ip("203.0.113.1")}, "net4"},
			{"IPv4-mapped IPv6 in range", sanction.Subject{TenantID: "ten_1", IP: ip("::ffff:203.0.113.250")}, "net4"},
			{"IPv4 past range", sanction.Subject{TenantID: "ten_1", IP: ip("203.0.114.1")}, ""},
			{"IPv6 in range", sanction.Subject{TenantID: "ten_1", IP: ip("2001:db8:1:ffff::5")}, "net6"},
			{"IPv6 past range", sanction.Subject{TenantID: "ten_1", IP: ip("2001:db8:3::1")}, ""},
			{"IPv6 address", sanction.Subject{TenantID: "ten_1", IP: ip("2001:db8:2::1")}, "ip6"},
			{"IPv6 with zone", sanction.Subject{TenantID: "ten_1", IP: ip("2001:db8:2::1%eth0")}, "ip6"},
			{"global range, any tenant", sanction.Subject{TenantID: "ten_9", IP: ip("192.0.2.127")}, "global"},
			{"global range upper half", sanction.Subject{TenantID: "ten_9", IP: ip("192.0.2.128")}, ""},
			{"range of another tenant", sanction.Subject{TenantID: "ten_2", IP: ip("203.0.113.1")}, ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				e, ok := s.Blocked(context.Background(), tc.sub)
				switch {
				case tc.want == "" && ok:
					t.Errorf("blocked by %s %s", e.Kind, e.Value)
				case tc.want != "" && (!ok || e.ID != ids[tc.want]):
					t.Errorf("blocked = %v %v, want entry %q", e, ok, tc.want)
				}
			})
		}
	})
}

func TestBlacklistStoresNoPlainNumbers(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		s := newService(t, db, sanction.Options{})
		e := mustAdd(t, s, sanction.Entry{Kind: sanction.KindPhone, Value: "13800138000"})
		var n int
		err := db.QueryRowContext(context.Background(),
			`SELECT COUNT(*) FROM blacklist WHERE value LIKE '%13800138000%'`).Scan(&n)
		if err != nil || n != 0 {
			t.Fatalf("plain phone stored in %d rows (%v)", n, err)
		}
		if want := hashOf(t, s.HashPhone, "13800138000"); e.Value != want {
			t.Errorf("value = %q, want the keyed hash %q", e.Value, want)
		}
		// The hash itself is accepted as a value and names the same entry.
		again := mustAdd(t, s, sanction.Entry{Kind: sanction.KindPhone, Value: e.Value, Reason: "again"})
		if again.ID != e.ID || again.Reason != "again" {
			t.Errorf("re-adding by hash gave %+v, want an update of %s", again, e.ID)
		}
	})
}

func TestHashes(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		a := newService(t, db, sanction.Options{})
		b := newService(t, db, sanction.Options{Secret: []byte("another secret of 32 bytes......")})
		cases := []struct {
			name string
			x, y string
			same bool
		}{
			{"+86 and spaces", hashOf(t, a.HashPhone, "+86 138 0013 8000"), hashOf(t, a.HashPhone, "13800138000"), true},
			{"0086 and dashes", hashOf(t, a.HashPhone, "0086-138-0013-8000"), hashOf(t, a.HashPhone, "13800138000"), true},
			{"other number", hashOf(t, a.HashPhone, "13800138001"), hashOf(t, a.HashPhone, "13800138000"), false},
			{"other secret", hashOf(t, b.HashPhone, "13800138000"), hashOf(t, a.HashPhone, "13800138000"), false},
			{"phone and identity number", hashOf(t, a.HashPhone, "1380013800012"), hashOf(t, a.HashIDNumber, "1380013800012"), false},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				if (tc.x == tc.y) != tc.same {
					t.Errorf("hashes equal = %v, want %v", tc.x == tc.y, tc.same)
				}
			})
		}
		for _, bad := range []string{"", "1234", "phone", "138001380001380013800"} {
			if _, err := a.HashPhone(bad); err == nil {
				t.Errorf("HashPhone(%q) accepted", bad)
			}
		}
	})
}

func TestBlacklistExpiry(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		c := newClock()
		s := newService(t, db, sanction.Options{Now: c.Now})
		mustAdd(t, s, sanction.Entry{Kind: sanction.KindDevice, Value: "dev-1", ExpiresAt: c.Now().Add(time.Hour)})
		sub := sanction.Subject{TenantID: "ten_1", DeviceID: "dev-1"}
		if _, ok := s.Blocked(context.Background(), sub); !ok {
			t.Fatal("not blocked before expiry")
		}
		c.Add(time.Hour)
		if e, ok := s.Blocked(context.Background(), sub); ok {
			t.Fatalf("blocked after expiry by %+v", e)
		}
		// A restarted replica does not load it either.
		s2 := newService(t, db, sanction.Options{Now: c.Now})
		if _, ok := s2.Blocked(context.Background(), sub); ok {
			t.Fatal("expired entry loaded")
		}
	})
}

func TestBlacklistRemove(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db, sanction.Options{})
		e := mustAdd(t, s, sanction.Entry{Kind: sanction.KindIP, Value: "10.0.0.0/8"})
		sub := sanction.Subject{TenantID: "ten_1", IP: netip.MustParseAddr("10.1.2.3")}
		if _, ok := s.Blocked(ctx, sub); !ok {
			t.Fatal("not blocked")
		}
		if err := s.RemoveEntry(ctx, e.ID); err != nil {
			t.Fatal(err)
		}
		if _, ok := s.Blocked(ctx, sub); ok {
			t.Error("blocked after removal")
		}
		if err := s.RemoveEntry(ctx, e.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("second removal: %v, want not found", err)
		}
	})
}

func TestBlacklistAddRejects(t *testing.T) {
	past := time.Now().Add(-time.Hour)
	cases := []struct {
		name string
		e    sanction.Entry
	}{
		{"unknown kind", sanction.Entry{Kind: "email", Value: "a@b.c", Reason: "r", CreatedBy: "a"}},
		{"no reason", sanction.Entry{Kind: sanction.KindUser, Value: "u", CreatedBy: "a"}},
		{"no creator", sanction.Entry{Kind: sanction.KindUser, Value: "u", Reason: "r"}},
		{"empty user", sanction.Entry{Kind: sanction.KindUser, Reason: "r", CreatedBy: "a"}},
		{"bad ip", sanction.Entry{Kind: sanction.KindIP, Value: "300.1.1.1", Reason: "r", CreatedBy: "a"}},
		{"bad prefix", sanction.Entry{Kind: sanction.KindIP, Value: "10.0.0.0/33", Reason: "r", CreatedBy: "a"}},
		{"bad phone", sanction.Entry{Kind: sanction.KindPhone, Value: "call me", Reason: "r", CreatedBy: "a"}},
		{"bad identity number", sanction.Entry{Kind: sanction.KindIDNumber, Value: "1-2", Reason: "r", CreatedBy: "a"}},
		{"expired", sanction.Entry{Kind: sanction.KindUser, Value: "u", Reason: "r", CreatedBy: "a", ExpiresAt: past}},
	}
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		s := newService(t, db, sanction.Options{})
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				if e, err := s.AddEntry(context.Background(), tc.e); err == nil {
					t.Errorf("accepted as %+v", e)
				}
			})
		}
	})
}

func TestBlacklistList(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db, sanction.Options{})
		mustAdd(t, s, sanction.Entry{Kind: sanction.KindIP, Value: "::ffff:10.0.0.1"})
		mustAdd(t, s, sanction.Entry{TenantID: "ten_1", Kind: sanction.KindUser, Value: "usr_1"})
		mustAdd(t, s, sanction.Entry{TenantID: "ten_1", Kind: sanction.KindDevice, Value: "dev_1"})
		cases := []struct {
			name string
			f    sanction.Filter
			want int
		}{
			{"every tenant", sanction.Filter{AnyTenant: true}, 3},
			{"global entries", sanction.Filter{}, 1},
			{"one tenant", sanction.Filter{TenantID: "ten_1"}, 2},
			{"one kind", sanction.Filter{AnyTenant: true, Kind: sanction.KindDevice}, 1},
			{"first page", sanction.Filter{AnyTenant: true, Limit: 2}, 2},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.Entries(ctx, tc.f)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != tc.want {
					t.Errorf("got %d entries, want %d", len(got), tc.want)
				}
			})
		}
		all, err := s.Entries(ctx, sanction.Filter{AnyTenant: true})
		if err != nil {
			t.Fatal(err)
		}
		rest, err := s.Entries(ctx, sanction.Filter{AnyTenant: true, After: all[1].ID})
		if err != nil || len(rest) != 1 || rest[0].ID != all[2].ID {
			t.Errorf("second page = %v, %v", rest, err)
		}
		for _, e := range all {
			if e.Kind == sanction.KindIP && e.Value != "10.0.0.1/32" {
				t.Errorf("ip stored as %q, want 10.0.0.1/32", e.Value)
			}
		}
	})
}
