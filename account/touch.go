package account

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/firebreak/firebreak/store"
)

// toucher collects "last used at" times in memory and writes them in one
// transaction per flush, so the request path never waits for a write.
type toucher struct {
	update string // UPDATE … SET <col> = $1 WHERE id = $2 AND …
	every  int64  // milliseconds between two marks of one entity

	mu      sync.Mutex
	pending map[string]int64 // id → unix milliseconds
}

func newToucher(table, column string, everyMs int64) *toucher {
	return &toucher{
		update: fmt.Sprintf(`UPDATE %s SET %s = $1 WHERE id = $2 AND (%s IS NULL OR %s < $1)`,
			table, column, column, column),
		every:   everyMs,
		pending: map[string]int64{},
	}
}

// maybe marks id as used at nowMs unless last (the entity's own record of
// its last mark) says it was marked less than an interval ago. The common
// case is one atomic load.
func (t *toucher) maybe(last *atomic.Int64, id string, nowMs int64) {
	prev := last.Load()
	if nowMs-prev < t.every || !last.CompareAndSwap(prev, nowMs) {
		return
	}
	t.mu.Lock()
	t.pending[id] = nowMs
	t.mu.Unlock()
}

func (t *toucher) take() map[string]int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.pending) == 0 {
		return nil
	}
	p := t.pending
	t.pending = map[string]int64{}
	return p
}

func (t *toucher) flush(ctx context.Context, db *store.DB) error {
	p := t.take()
	if p == nil {
		return nil
	}
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		for id, ms := range p {
			if _, err := tx.ExecContext(ctx, t.update, ms, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("touch %d rows: %w", len(p), err)
	}
	return nil
}
