package notify

import (
	"context"
	"time"
)

// pollLoop reads change_log every PollInterval and whenever woken, and
// prunes old rows now and then. Failures are logged when they start and
// when they end, not on every tick.
func (n *Notifier) pollLoop(ctx context.Context) {
	defer n.wg.Done()
	t := time.NewTicker(n.opts.PollInterval)
	defer t.Stop()
	var failing bool
	nextPrune := n.opts.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-n.kick:
		}
		err := n.catchUp(ctx)
		if err == nil && !n.opts.Now().Before(nextPrune) {
			err = n.prune(ctx)
			nextPrune = n.opts.Now().Add(n.pruneEvery())
		}
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && !failing:
			n.opts.Logger.Warn("notify: change log unavailable", "err", err)
		case err == nil && failing:
			n.opts.Logger.Info("notify: change log available again")
		}
		failing = err != nil
	}
}

// catchUp delivers every change_log row past the last one delivered.
func (n *Notifier) catchUp(ctx context.Context) error {
	from := n.cursor()
	for {
		rows, err := n.log.since(ctx, from)
		if err != nil {
			return err
		}
		for _, r := range rows {
			n.deliver(r.seq, r.topic, r.payload)
		}
		if len(rows) < pollBatch {
			return nil
		}
		from = rows[len(rows)-1].seq
	}
}

func (n *Notifier) prune(ctx context.Context) error {
	deleted, err := n.log.prune(ctx, n.opts.Now().Add(-n.opts.Retention))
	if err == nil && deleted > 0 {
		n.opts.Logger.Debug("notify: change log pruned", "rows", deleted)
	}
	return err
}

// pruneEvery spreads pruning so that rows live at most about 1.5×Retention
// and the table is visited at most every ten minutes.
func (n *Notifier) pruneEvery() time.Duration {
	return max(min(n.opts.Retention/2, 10*time.Minute), n.opts.PollInterval)
}
