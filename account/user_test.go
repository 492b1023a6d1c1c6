package account_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

func TestResolveCreatesOnFirstSight(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := newClock()
		s := newService(t, db, account.Options{Now: clk.Now})
		a := mustTenant(t, s, account.Tenant{Name: "a"})
		b := mustTenant(t, s, account.Tenant{Name: "b"})

		u1, err := s.Users.Resolve(ctx, a.ID, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if u1.ID == "" || u1.TenantID != a.ID || u1.ExternalID != "alice" || u1.Status != "active" ||
			!u1.CreatedAt.Equal(clk.Now()) {
			t.Fatalf("resolved %+v", u1)
		}
		again, err := s.Users.Resolve(ctx, a.ID, "alice")
		if err != nil || again.ID != u1.ID {
			t.Fatalf("second resolve: %+v, %v; want id %s", again, err, u1.ID)
		}
		// A fresh service (another replica) finds the same row.
		other := newService(t, db, account.Options{Now: clk.Now})
		if u, err := other.Users.Resolve(ctx, a.ID, "alice"); err != nil || u.ID != u1.ID {
			t.Fatalf("resolve on another replica: %+v, %v", u, err)
		}
		// The same external id in another tenant is another person.
		ub, err := s.Users.Resolve(ctx, b.ID, "alice")
		if err != nil || ub.ID == u1.ID {
			t.Fatalf("other tenant's alice: %+v, %v", ub, err)
		}
		got, err := s.Users.Get(ctx, u1.ID)
		if err != nil || got.ExternalID != "alice" {
			t.Fatalf("get: %+v, %v", got, err)
		}
		if _, err := s.Users.Get(ctx, "usr_missing"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("get missing: %v, want ErrNotFound", err)
		}
	})
}

func TestResolveRejects(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		s := newService(t, db, account.Options{})
		tn := mustTenant(t, s, account.Tenant{Name: "a"})
		cases := []struct {
			name, tenant, external string
			want                   error
		}{
			{"empty", tn.ID, "", account.ErrBadExternalID},
			{"too long", tn.ID, strings.Repeat("x", account.MaxExternalIDLen+1), account.ErrBadExternalID},
			{"not UTF-8", tn.ID, "\xff\xfe", account.ErrBadExternalID},
			{"unknown tenant", "ten_missing", "alice", nil},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				u, err := s.Users.Resolve(context.Background(), tc.tenant, tc.external)
				if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
					t.Fatalf("got %+v, %v; want an error (%v)", u, err, tc.want)
				}
			})
		}
		if _, err := s.Users.Resolve(context.Background(), tn.ID, strings.Repeat("é", account.MaxExternalIDLen/2)); err != nil {
			t.Fatalf("longest valid id: %v", err)
		}
	})
}

func TestResolveConcurrentCreatesOneRow(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		// Three replicas, so the database, not only one process's
		// in-flight deduplication, must keep the user unique.
		replicas := []*account.Service{
			newService(t, db, account.Options{}),
			newService(t, db, account.Options{}),
			newService(t, db, account.Options{}),
		}
		tn := mustTenant(t, replicas[0], account.Tenant{Name: "a"})
		const n = 24
		ids := make([]string, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				u, err := replicas[i%len(replicas)].Users.Resolve(ctx, tn.ID, "new-user")
				if u != nil {
					ids[i] = u.ID
				}
				errs[i] = err
			})
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("resolve %d: %v", i, errs[i])
			}
			if ids[i] != ids[0] {
				t.Fatalf("resolve %d returned %s, resolve 0 returned %s", i, ids[i], ids[0])
			}
		}
		var rows int
		err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM end_users WHERE tenant_id = $1`, tn.ID).Scan(&rows)
		if err != nil {
			t.Fatal(err)
		}
		if rows != 1 {
			t.Fatalf("%d rows for one new user", rows)
		}
	})
}

func TestListUsersPages(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db, account.Options{})
		tn := mustTenant(t, s, account.Tenant{Name: "a"})
		other := mustTenant(t, s, account.Tenant{Name: "b"})
		want := map[string]bool{}
		for _, ext := range []string{"u1", "u2", "u3", "u4", "u5"} {
			u, err := s.Users.Resolve(ctx, tn.ID, ext)
			if err != nil {
				t.Fatal(err)
			}
			want[u.ID] = true
		}
		if _, err := s.Users.Resolve(ctx, other.ID, "u1"); err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		after, pages := "", 0
		for pages < 10 {
			page, err := s.Users.List(ctx, tn.ID, after, 2)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			pages++
			for _, u := range page {
				if !want[u.ID] || seen[u.ID] {
					t.Fatalf("page %d: unexpected or repeated user %s", pages, u.ID)
				}
				seen[u.ID] = true
			}
			after = page[len(page)-1].ID
		}
		if len(seen) != len(want) || pages != 3 {
			t.Fatalf("listed %d users in %d pages, want %d in 3", len(seen), pages, len(want))
		}
	})
}

func TestLastSeenIsBatched(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := newClock()
		s, err := account.New(account.Options{DB: db, Now: clk.Now, TouchInterval: time.Minute, CacheTTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		tn := mustTenant(t, s, account.Tenant{Name: "a"})
		u, err := s.Users.Resolve(ctx, tn.ID, "alice")
		if err != nil {
			t.Fatal(err)
		}
		clk.Add(30 * time.Second) // within the interval: not marked
		if _, err := s.Users.Resolve(ctx, tn.ID, "alice"); err != nil {
			t.Fatal(err)
		}
		clk.Add(45 * time.Second) // past it: marked
		seen := clk.Now()
		if _, err := s.Users.Resolve(ctx, tn.ID, "alice"); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Users.Get(ctx, u.ID); got == nil || !got.LastSeenAt.Equal(u.CreatedAt) {
			t.Fatalf("LastSeenAt written on the request path: %+v", got)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		got, err := s.Users.Get(ctx, u.ID)
		if err != nil || !got.LastSeenAt.Equal(seen) {
			t.Fatalf("after flush: %+v, %v; want LastSeenAt %v", got, err, seen)
		}
	})
}

func BenchmarkResolve(b *testing.B) {
	db := storetest.Open(b, store.Options{DataDir: b.TempDir()})
	s := newService(b, db, account.Options{})
	tn := mustTenant(b, s, account.Tenant{Name: "a"})
	ctx := context.Background()
	u, err := s.Users.Resolve(ctx, tn.ID, "alice")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("hit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Users.Resolve(ctx, tn.ID, "alice"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("miss", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s.Invalidate(account.Change{Kind: account.ChangeUser, ID: u.ID})
			if _, err := s.Users.Resolve(ctx, tn.ID, "alice"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
