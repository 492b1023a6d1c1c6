// Package notify tells every replica of Firebreak that something changed: a
// policy was published, a blacklist entry added, a key revoked, a user
// sanctioned. Publishers name a topic and a small payload (an id, a version,
// never a secret or any content); subscribers are caches that drop an entry
// or holders that reload a version.
//
// There are two ways to get a Notifier. NewLocal delivers within the process
// and needs no database (tests, tools). Open works on the store:
//
//   - Every publication is appended to the change_log table, so it exists
//     only if the change it announces commits (PublishTx appends inside the
//     caller's transaction) and it gets a sequence number in commit order.
//   - On PostgreSQL the append also sends pg_notify, and one dedicated
//     listening connection delivers it to this replica's subscribers within
//     milliseconds. The listener reconnects with backoff when the connection
//     drops.
//   - Notices sent while a listener was disconnected are lost, so every
//     replica also reads change_log for rows past the last one it delivered:
//     every Options.PollInterval, after every reconnect, and on SQLite right
//     after each local publication.
//   - Rows older than Options.Retention are pruned.
//
// # Delivery guarantees
//
// Callbacks run asynchronously, one at a time per subscription, in commit
// order, which is publish order for one publisher. A payload published while
// a replica runs reaches each of its subscribers at least once and, in the
// normal course, exactly once; consumers must still be idempotent (dropping
// a cache entry twice, or reloading the version already loaded, must be
// harmless) because a notifier that is restarted, or a replica that cannot
// reach the database for longer than Retention, gives no stronger promise.
// A replica that starts sees only what is published after Open returns: it
// loads current state at start anyway.
package notify
