package account_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

var keyShape = regexp.MustCompile(`^fbk_[a-z2-7]{8}_[a-z2-7]{39}$`)

func TestKeyLifecycle(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := newClock()
		s := newService(t, db, account.Options{Now: clk.Now})
		tn := mustTenant(t, s, account.Tenant{Name: "acme"})
		exp := clk.Now().Add(time.Hour)
		k, plain := mustKey(t, s, account.Key{TenantID: tn.ID, Name: "app", Models: []string{"general"},
			Limits: account.Limits{RPM: 5}, ExpiresAt: &exp})
		if !keyShape.MatchString(plain) || !strings.HasPrefix(plain, k.Prefix) || k.Prefix != "fbk_"+k.ID+"_" {
			t.Fatalf("key %q with prefix %q and id %q has the wrong shape", plain, k.Prefix, k.ID)
		}
		assertSecretNotStored(t, db, plain)

		clk.Add(time.Second) // List orders by creation time
		mustKey(t, s, account.Key{TenantID: tn.ID, Name: "second"})
		list, err := s.Keys.List(ctx, tn.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].ID != k.ID || !slices.Equal(list[0].Models, []string{"general"}) ||
			list[0].Limits.RPM != 5 || list[0].ExpiresAt == nil || !list[0].ExpiresAt.Equal(exp) {
			t.Fatalf("list = %+v", list)
		}

		k.Name, k.Models, k.ExpiresAt = "renamed", nil, nil
		upd, err := s.Keys.Update(ctx, *k)
		if err != nil {
			t.Fatal(err)
		}
		if upd.Name != "renamed" || upd.Models != nil || upd.ExpiresAt != nil {
			t.Fatalf("after update: %+v", upd)
		}

		if err := s.Keys.Revoke(ctx, k.ID); err != nil {
			t.Fatal(err)
		}
		got, err := s.Keys.Get(ctx, k.ID)
		if err != nil || got.RevokedAt == nil {
			t.Fatalf("after revoke: %+v, %v", got, err)
		}
		if err := s.Keys.Revoke(ctx, "nosuchid"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("revoke unknown: %v, want ErrNotFound", err)
		}
		if _, _, err := s.Keys.Create(ctx, account.Key{TenantID: "ten_missing"}); err == nil {
			t.Fatal("key created for a tenant that does not exist")
		}
	})
}

// assertSecretNotStored checks that no column of api_keys holds the
// plaintext key or its secret part.
func assertSecretNotStored(t *testing.T, db *store.DB, plain string) {
	t.Helper()
	secret := plain[strings.LastIndexByte(plain, '_')+1:]
	var n int
	err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM api_keys
		WHERE secret_hash LIKE $1 OR name LIKE $1 OR id LIKE $1`, "%"+secret+"%").Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatal("the key's secret is stored in api_keys")
	}
}

func TestAuthenticate(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := newClock()
		s := newService(t, db, account.Options{Now: clk.Now})
		tn := mustTenant(t, s, account.Tenant{Name: "acme", DefaultModel: "general"})
		off := mustTenant(t, s, account.Tenant{Name: "off", Disabled: true})
		good, goodPlain := mustKey(t, s, account.Key{TenantID: tn.ID, Name: "good"})
		revoked, revokedPlain := mustKey(t, s, account.Key{TenantID: tn.ID})
		if err := s.Keys.Revoke(ctx, revoked.ID); err != nil {
			t.Fatal(err)
		}
		past := clk.Now().Add(-time.Minute)
		_, expiredPlain := mustKey(t, s, account.Key{TenantID: tn.ID, ExpiresAt: &past})
		_, offPlain := mustKey(t, s, account.Key{TenantID: off.ID})
		wrongSecret := goodPlain[:len(goodPlain)-4] + "aaaa"
		if wrongSecret == goodPlain {
			wrongSecret = goodPlain[:len(goodPlain)-4] + "bbbb"
		}

		cases := []struct {
			name    string
			key     string
			wantErr error
		}{
			{"good", goodPlain, nil},
			{"good again from cache", goodPlain, nil},
			{"wrong secret with a right prefix", wrongSecret, account.ErrKeyUnknown},
			{"unknown id", "fbk_aaaaaaaa_" + strings.Repeat("a", 39), account.ErrKeyUnknown},
			{"revoked", revokedPlain, account.ErrKeyRevoked},
			{"revoked again from cache", revokedPlain, account.ErrKeyRevoked},
			{"expired", expiredPlain, account.ErrKeyExpired},
			{"disabled tenant", offPlain, account.ErrTenantDisabled},
			{"empty", "", account.ErrKeyMalformed},
			{"other vendor", "sk-" + strings.Repeat("a", 48), account.ErrKeyMalformed},
			{"upper case", strings.ToUpper(goodPlain), account.ErrKeyMalformed},
			{"truncated", goodPlain[:len(goodPlain)-1], account.ErrKeyMalformed},
			{"extra byte", goodPlain + "a", account.ErrKeyMalformed},
			{"bad alphabet", goodPlain[:len(goodPlain)-1] + "1", account.ErrKeyMalformed},
			{"separator moved", "fbk_" + goodPlain[5:13] + "_" + goodPlain[14:] + "a", account.ErrKeyMalformed},
			{"non-ASCII", goodPlain[:len(goodPlain)-2] + "é", account.ErrKeyMalformed},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				p, err := s.Authenticate(ctx, tc.key)
				if tc.wantErr != nil {
					if !errors.Is(err, tc.wantErr) || !errors.Is(err, account.ErrInvalidKey) || p != nil {
						t.Fatalf("got %v, %v; want %v", p, err, tc.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if p.Key.ID != good.ID || p.Tenant.ID != tn.ID || p.Tenant.DefaultModel != "general" {
					t.Fatalf("principal %+v", p)
				}
			})
		}
	})
}

func TestAuthenticateSeesChanges(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := newClock()
		// Two replicas on one database that hear each other's changes, and
		// a third that does not.
		a := newService(t, db, account.Options{Now: clk.Now, CacheTTL: time.Hour, Bus: openBus(t, db)})
		b := newService(t, db, account.Options{Now: clk.Now, CacheTTL: time.Hour, Bus: openBus(t, db)})
		c := newService(t, db, account.Options{Now: clk.Now, CacheTTL: 30 * time.Second})
		tn := mustTenant(t, a, account.Tenant{Name: "acme"})
		exp := clk.Now().Add(time.Hour)
		k, plain := mustKey(t, a, account.Key{TenantID: tn.ID, ExpiresAt: &exp})
		authOK := func(t *testing.T, s *account.Service) {
			t.Helper()
			if _, err := s.Authenticate(ctx, plain); err != nil {
				t.Fatalf("authenticate: %v", err)
			}
		}
		authFails := func(t *testing.T, s *account.Service, want error) {
			t.Helper()
			if _, err := s.Authenticate(ctx, plain); !errors.Is(err, want) {
				t.Fatalf("authenticate: %v, want %v", err, want)
			}
		}
		// notified waits until a, notified by b, authenticates as wanted.
		notified := func(t *testing.T, want error) {
			t.Helper()
			eventually(t, func() error {
				if _, err := a.Authenticate(ctx, plain); !errors.Is(err, want) {
					return fmt.Errorf("authenticate on the notified replica: %v, want %v", err, want)
				}
				return nil
			})
		}
		for _, s := range []*account.Service{a, b, c} {
			authOK(t, s) // now cached everywhere
		}

		t.Run("disable on another replica is published", func(t *testing.T) {
			if err := b.Tenants.Disable(ctx, tn.ID); err != nil {
				t.Fatal(err)
			}
			authFails(t, b, account.ErrTenantDisabled)
			notified(t, account.ErrTenantDisabled)
			authOK(t, c) // not notified: still within its TTL
			clk.Add(31 * time.Second)
			authFails(t, c, account.ErrTenantDisabled)
		})
		t.Run("re-enable", func(t *testing.T) {
			tn.Disabled = false
			if _, err := b.Tenants.Update(ctx, *tn); err != nil {
				t.Fatal(err)
			}
			authOK(t, b)
			notified(t, nil)
		})
		t.Run("expiry applies to cached keys", func(t *testing.T) {
			clk.Add(2 * time.Hour)
			authFails(t, a, account.ErrKeyExpired)
			k.ExpiresAt = nil
			if _, err := b.Keys.Update(ctx, *k); err != nil {
				t.Fatal(err)
			}
			notified(t, nil)
		})
		t.Run("revoke is immediate locally and when published", func(t *testing.T) {
			if err := b.Keys.Revoke(ctx, k.ID); err != nil {
				t.Fatal(err)
			}
			authFails(t, b, account.ErrKeyRevoked)
			notified(t, account.ErrKeyRevoked)
		})
	})
}

func TestLastUsedIsBatched(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := newClock()
		s, err := account.New(account.Options{DB: db, Now: clk.Now, TouchInterval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		tn := mustTenant(t, s, account.Tenant{Name: "acme"})
		k, plain := mustKey(t, s, account.Key{TenantID: tn.ID})
		first := clk.Now()
		for range 3 {
			if _, err := s.Authenticate(ctx, plain); err != nil {
				t.Fatal(err)
			}
			clk.Add(10 * time.Second) // within CacheTTL and TouchInterval
		}
		if got, _ := s.Keys.Get(ctx, k.ID); got == nil || got.LastUsedAt != nil {
			t.Fatalf("LastUsedAt written on the request path: %+v", got)
		}
		if err := s.Close(); err != nil { // Close flushes
			t.Fatal(err)
		}
		got, err := s.Keys.Get(ctx, k.ID)
		if err != nil {
			t.Fatal(err)
		}
		// Only the first use within the interval is recorded.
		if got.LastUsedAt == nil || !got.LastUsedAt.Equal(first) {
			t.Fatalf("LastUsedAt = %v, want %v", got.LastUsedAt, first)
		}
	})
}

func TestAuthenticateCacheHitAllocatesNothing(t *testing.T) {
	db := storetest.Open(t, store.Options{DataDir: t.TempDir()})
	s := newService(t, db, account.Options{})
	tn := mustTenant(t, s, account.Tenant{Name: "acme"})
	_, plain := mustKey(t, s, account.Key{TenantID: tn.ID})
	ctx := context.Background()
	if _, err := s.Authenticate(ctx, plain); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := s.Authenticate(ctx, plain); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("cache hit allocates %v times", allocs)
	}
}

func BenchmarkAuthenticate(b *testing.B) {
	db := storetest.Open(b, store.Options{DataDir: b.TempDir()})
	s := newService(b, db, account.Options{})
	tn := mustTenant(b, s, account.Tenant{Name: "acme"})
	k, plain := mustKey(b, s, account.Key{TenantID: tn.ID})
	ctx := context.Background()
	b.Run("hit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Authenticate(ctx, plain); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("hit-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.Authenticate(ctx, plain); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("miss", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s.Invalidate(account.Change{Kind: account.ChangeKey, ID: k.ID})
			if _, err := s.Authenticate(ctx, plain); err != nil {
				b.Fatal(err)
			}
		}
	})
}
