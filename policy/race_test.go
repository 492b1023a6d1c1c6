package policy_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/firebreak/firebreak/policy"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

// TestConcurrentPublishesConverge publishes two different versions at
// once through two replicas, round after round, and, in between, rolls
// back on both at once: after each round both replicas enforce the same
// version, the one the history says is in force.
func TestConcurrentPublishesConverge(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		a := newService(t, db, openNotifier(t, db))
		b := newService(t, db, openNotifier(t, db))
		replicas := []*policy.Service{a, b}
		for round := range 8 {
			var wg sync.WaitGroup
			for i, s := range replicas {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ch := policy.Change{Author: "alice", Reason: fmt.Sprintf("round %d replica %d", round, i)}
					var err error
					if round%3 == 2 {
						_, err = s.Rollback(context.Background(), "", ch)
					} else {
						_, err = s.Publish(context.Background(), versionN(t, 2*round+i), ch)
					}
					if err != nil && !isConflict(err) {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			h, err := a.History(context.Background(), 1)
			if err != nil || len(h) == 0 {
				t.Fatalf("history: %v", err)
			}
			for i, s := range replicas {
				waitVersion(t, s, h[0].Version, time.Now())
				if t.Failed() {
					t.Fatalf("round %d: replica %d enforces %s, the history %s", round, i, s.Current().Version(), h[0].Version)
				}
			}
		}
	})
}

// isConflict: a rollback that lost the race to another change is refused.
func isConflict(err error) bool { return errors.Is(err, policy.ErrConflict) }
