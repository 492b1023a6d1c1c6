package account_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

func TestTenantCRUD(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db, account.Options{})
		in := account.Tenant{Name: "acme", DefaultModel: "general", Models: []string{"general", "law"},
			Limits: account.Limits{RPM: 60, Concurrent: 4, TPM: 10000, TokenQuota: 1 << 40}}
		created := mustTenant(t, s, in)
		if created.ID == "" || created.CreatedAt.IsZero() {
			t.Fatalf("created tenant lacks ID or CreatedAt: %+v", created)
		}

		byID, err := s.Tenants.Get(ctx, created.ID)
		if err != nil {
			t.Fatal(err)
		}
		byName, err := s.Tenants.GetByName(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		for _, got := range []*account.Tenant{byID, byName} {
			if got.Name != in.Name || got.DefaultModel != in.DefaultModel || !slices.Equal(got.Models, in.Models) ||
				got.Limits != in.Limits || got.Disabled || !got.CreatedAt.Equal(created.CreatedAt) {
				t.Fatalf("read back %+v, want %+v", got, created)
			}
		}

		mustTenant(t, s, account.Tenant{Name: "beta"})
		list, err := s.Tenants.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].Name != "acme" || list[1].Name != "beta" || list[1].Models != nil {
			t.Fatalf("list = %+v", list)
		}

		upd := *byID
		upd.Name, upd.Models, upd.Limits.RPM = "acme-corp", nil, 0
		got, err := s.Tenants.Update(ctx, upd)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "acme-corp" || got.Models != nil || got.Limits.RPM != 0 || got.Limits.TPM != 10000 {
			t.Fatalf("after update: %+v", got)
		}

		if err := s.Tenants.Disable(ctx, created.ID); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Tenants.Get(ctx, created.ID); got == nil || !got.Disabled {
			t.Fatalf("tenant not disabled: %+v", got)
		}

		if err := s.Tenants.Delete(ctx, created.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Tenants.Get(ctx, created.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("get deleted tenant: %v, want ErrNotFound", err)
		}
		if err := s.Tenants.Delete(ctx, created.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delete twice: %v, want ErrNotFound", err)
		}
	})
}

func TestTenantNamesUnique(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db, account.Options{})
		mustTenant(t, s, account.Tenant{Name: "acme"})
		other := mustTenant(t, s, account.Tenant{Name: "other"})
		if _, err := s.Tenants.Create(ctx, account.Tenant{Name: "acme"}); !errors.Is(err, account.ErrNameTaken) {
			t.Fatalf("create duplicate: %v, want ErrNameTaken", err)
		}
		other.Name = "acme"
		if _, err := s.Tenants.Update(ctx, *other); !errors.Is(err, account.ErrNameTaken) {
			t.Fatalf("rename to a taken name: %v, want ErrNameTaken", err)
		}
	})
}

func TestTenantValidation(t *testing.T) {
	s := newService(t, storetest.Open(t, store.Options{DataDir: t.TempDir()}), account.Options{})
	cases := []struct {
		name   string
		tenant account.Tenant
	}{
		{"empty name", account.Tenant{}},
		{"space in name", account.Tenant{Name: "a b"}},
		{"long name", account.Tenant{Name: string(make([]byte, 65))}},
		{"negative limit", account.Tenant{Name: "x", Limits: account.Limits{RPM: -1}}},
		{"empty model", account.Tenant{Name: "x", Models: []string{""}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.Tenants.Create(context.Background(), tc.tenant); err == nil {
				t.Fatal("invalid tenant accepted")
			}
		})
	}
}
