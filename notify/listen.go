package notify

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// idleCheck is how long the listener waits for a notice before it pings
// the server, so a connection that died without a word is noticed.
const idleCheck = 30 * time.Second

// listenLoop keeps one listening connection open for the notifier's life,
// reconnecting with exponential backoff.
func (n *Notifier) listenLoop(ctx context.Context) {
	defer n.wg.Done()
	delay := n.opts.ReconnectDelay
	failures := 0
	for {
		listened, err := n.listenOnce(ctx)
		n.listenerPID.Store(0)
		if ctx.Err() != nil {
			return
		}
		if listened {
			delay, failures = n.opts.ReconnectDelay, 0
		}
		failures++
		// The first failure of an outage is worth a warning; the retries
		// that follow are not.
		level := n.opts.Logger.Warn
		if failures > 1 {
			level = n.opts.Logger.Debug
		}
		level("notify: listener down", "err", err, "retry_in", delay.String(), "failures", failures)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		delay = min(delay*2, n.opts.MaxReconnectDelay)
	}
}

// listenOnce runs one listening connection until it fails. listened
// reports whether LISTEN succeeded, which resets the backoff.
func (n *Notifier) listenOnce(ctx context.Context) (listened bool, err error) {
	err = n.withConn(ctx, func(conn *pgx.Conn) error {
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{n.log.channel}.Sanitize()); err != nil {
			return fmt.Errorf("listen: %w", err)
		}
		listened = true
		n.listenerPID.Store(conn.PgConn().PID())
		// Notices sent before LISTEN took effect are lost: read the log
		// now, before delivering any notice, so none is skipped.
		if err := n.catchUp(ctx); err != nil {
			return fmt.Errorf("catch up: %w", err)
		}
		for {
			if err := n.waitOne(ctx, conn); err != nil {
				return err
			}
		}
	})
	return listened, err
}

// waitOne waits for one notice and delivers it, or pings after idleCheck.
func (n *Notifier) waitOne(ctx context.Context, conn *pgx.Conn) error {
	wctx, cancel := context.WithTimeout(ctx, idleCheck)
	note, err := conn.WaitForNotification(wctx)
	cancel()
	switch {
	case err == nil:
		n.handleNotice(ctx, note.Payload)
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case !errors.Is(wctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("wait: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := conn.Ping(pctx); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	return nil
}

// handleNotice delivers a "seq topic payload" notice. The listener is the
// only reader of notices and they arrive in commit order, so a notice past
// the cursor never skips a row (see changeLog.append). Anything unreadable
// falls back to reading the log.
func (n *Notifier) handleNotice(ctx context.Context, msg string) {
	seqText, rest, ok1 := strings.Cut(msg, " ")
	topic, payload, ok2 := strings.Cut(rest, " ")
	seq, err := strconv.ParseInt(seqText, 10, 64)
	if ok1 && ok2 && err == nil {
		n.deliver(seq, topic, payload)
		return
	}
	n.opts.Logger.Warn("notify: unreadable notice", "bytes", len(msg))
	if err := n.catchUp(ctx); err != nil {
		n.opts.Logger.Warn("notify: change log unavailable", "err", err)
	}
}

// withConn runs fn on a connection of its own, opened from Options.DSN
// or else from the store's: never on a pooled one (see
// store.DB.DedicatedConn).
func (n *Notifier) withConn(ctx context.Context, fn func(*pgx.Conn) error) error {
	var (
		conn *pgx.Conn
		err  error
	)
	if n.opts.DSN != "" {
		conn, err = pgx.Connect(ctx, n.opts.DSN)
	} else {
		conn, err = n.log.db.DedicatedConn(ctx)
	}
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer closeConn(conn)
	return fn(conn)
}

func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = conn.Close(ctx)
}
