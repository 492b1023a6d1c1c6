package account_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

func TestBootstrapOnce(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db, account.Options{})
		if err := s.CheckAdminToken(ctx, "fba_anything"); !errors.Is(err, account.ErrBadAdminToken) {
			t.Fatalf("admin token accepted before bootstrap: %v", err)
		}
		first, err := s.Bootstrap(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !first.Created || !strings.HasPrefix(first.AdminToken, "fba_") || first.FirstKey == "" {
			t.Fatalf("first bootstrap: %+v", first)
		}
		second, err := s.Bootstrap(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if second != (account.BootstrapResult{}) {
			t.Fatalf("second bootstrap returned %+v, want nothing", second)
		}
		p, err := s.Authenticate(ctx, first.FirstKey)
		if err != nil || p.Tenant.Name != "default" {
			t.Fatalf("first key: %+v, %v", p, err)
		}
		if err := s.CheckAdminToken(ctx, first.AdminToken); err != nil {
			t.Fatalf("admin token: %v", err)
		}
		assertCount(t, db, `SELECT COUNT(*) FROM tenants`, 1)
		assertCount(t, db, `SELECT COUNT(*) FROM api_keys`, 1)
		var stored string
		if err := db.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = 'admin_token_sha256'`).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(stored, first.AdminToken[4:]) {
			t.Fatal("admin token stored in plain text")
		}
	})
}

func TestBootstrapConcurrent(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		replicas := []*account.Service{newService(t, db, account.Options{}), newService(t, db, account.Options{})}
		const n = 6
		results := make([]account.BootstrapResult, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { results[i], errs[i] = replicas[i%2].Bootstrap(context.Background()) })
		}
		wg.Wait()
		created := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("bootstrap %d: %v", i, errs[i])
			}
			if results[i].Created {
				created++
			}
		}
		if created != 1 {
			t.Fatalf("%d bootstraps created, want 1", created)
		}
		assertCount(t, db, `SELECT COUNT(*) FROM tenants`, 1)
		assertCount(t, db, `SELECT COUNT(*) FROM api_keys`, 1)
	})
}

func TestAdminTokenRotation(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a := newService(t, db, account.Options{Bus: openBus(t, db)})
		b := newService(t, db, account.Options{Bus: openBus(t, db)})
		res, err := a.Bootstrap(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.CheckAdminToken(ctx, res.AdminToken); err != nil { // now cached in a
			t.Fatal(err)
		}
		rotated, err := b.RotateAdminToken(ctx)
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, func() error { // the notice reaches a
			if err := a.CheckAdminToken(ctx, rotated); err != nil {
				return fmt.Errorf("rotated token on the notified replica: %w", err)
			}
			return nil
		})
		cases := []struct {
			name  string
			s     *account.Service
			token string
			ok    bool
		}{
			{"old token on the rotating replica", b, res.AdminToken, false},
			{"old token on the notified replica", a, res.AdminToken, false},
			{"new token", a, rotated, true},
			{"new token on the rotating replica", b, rotated, true},
			{"empty", a, "", false},
			{"prefix only", a, "fba_", false},
			{"the API key is not an admin token", a, res.FirstKey, false},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				err := tc.s.CheckAdminToken(ctx, tc.token)
				if tc.ok != (err == nil) || (!tc.ok && !errors.Is(err, account.ErrBadAdminToken)) {
					t.Fatalf("CheckAdminToken = %v, want ok=%v", err, tc.ok)
				}
			})
		}
	})
}

func assertCount(t *testing.T, db *store.DB, query string, want int) {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Fatalf("%s = %d, want %d", query, n, want)
	}
}
