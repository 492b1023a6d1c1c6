package replica

import (
	"context"

	"github.com/firebreak/firebreak/kb"
)

// openKB opens the knowledge bases and the grounding settings of routes,
// which follow changes on every replica through the change bus.
func (r *Replica) openKB(ctx context.Context) error {
	svc, err := kb.New(ctx, kb.Options{DB: r.DB, Bus: r.Notifier, Logger: r.log})
	if err != nil {
		return err
	}
	r.KB = svc
	r.onClose(svc.Close)
	return nil
}
