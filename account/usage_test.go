package account_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

func TestAddUsageSumsExactly(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		replicas := []*account.Service{newService(t, db, account.Options{}), newService(t, db, account.Options{})}
		const workers, adds = 8, 25
		var wg sync.WaitGroup
		errs := make(chan error, workers*adds)
		for w := range workers {
			wg.Go(func() {
				for i := range adds {
					if err := replicas[w%2].AddUsage(ctx, "key:k1", int64(i+1)); err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		got, err := replicas[0].Usage(ctx, "key:k1")
		if err != nil {
			t.Fatal(err)
		}
		if want := int64(workers * adds * (adds + 1) / 2); got != want {
			t.Fatalf("usage %d, want %d", got, want)
		}
		if got, err := replicas[1].Usage(ctx, "user:nobody"); err != nil || got != 0 {
			t.Fatalf("usage of an unseen subject: %d, %v; want 0", got, err)
		}
	})
}

func TestUsageSubjects(t *testing.T) {
	s := newService(t, storetest.Open(t, store.Options{DataDir: t.TempDir()}), account.Options{})
	cases := []struct {
		subject string
		ok      bool
	}{
		{"key:abc", true},
		{"user:usr_abc", true},
		{"key:", false},
		{"tenant:abc", false},
		{"abc", false},
		{"", false},
	}
	for _, tc := range cases {
		t.Run(tc.subject, func(t *testing.T) {
			err := s.AddUsage(context.Background(), tc.subject, 1)
			if tc.ok != (err == nil) || (!tc.ok && !errors.Is(err, account.ErrBadSubject)) {
				t.Fatalf("AddUsage(%q) = %v", tc.subject, err)
			}
			_, err = s.Usage(context.Background(), tc.subject)
			if tc.ok != (err == nil) {
				t.Fatalf("Usage(%q) = %v", tc.subject, err)
			}
		})
	}
}
