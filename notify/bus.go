package notify

import (
	"context"
	"database/sql"
)

// Bus is the one interface through which a domain keeps the replicas in
// step. A domain whose writes other replicas must hear of takes a Bus in
// its options, publishes each change on its own topic with PublishTx
// inside the transaction that writes it (so the notice exists exactly when
// the change commits), and subscribes to its topic to apply the changes of
// every replica, its own included. *Notifier implements it.
type Bus interface {
	PublishTx(ctx context.Context, tx *sql.Tx, topic, payload string) error
	Subscribe(topic string, fn func(payload string)) (cancel func())
}

var _ Bus = (*Notifier)(nil)

// Discard is the Bus of a replica that runs alone: it publishes nothing
// and delivers nothing. Domains use it when their options name no Bus.
var Discard Bus = discard{}

type discard struct{}

func (discard) PublishTx(context.Context, *sql.Tx, string, string) error { return nil }
func (discard) Subscribe(string, func(string)) func()                    { return func() {} }
