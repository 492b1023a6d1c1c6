// Package audit keeps Firebreak's audit trail and its complaint intake.
//
// The trail answers "who asked what, what did the model answer, what did
// the gateway decide, under which policy version" for at least six months
// (Cybersecurity Law, Art. 21; Art. 23 from 2026-01-01), while keeping no more personal data than
// needed (Interim Measures, Art. 11). Complaints give the public a channel
// with a deadline (Art. 15).
//
// # Records and content
//
// The gateway fills a Record per request and calls Trail.Append before it
// finishes the response. The prompt and answer are never stored as
// plaintext: per tenant (Options.Retention, Options.TenantRetention) a
// record keeps nothing, the SHA-256 of each (ModeHash), or both sealed with
// AES-256-GCM under the newest key of a Keyring (ModeEncrypted), with the
// key id stored so keys rotate. By default flagged records are encrypted
// when a keyring is configured and clean ones are hashed.
//
// # Durability: group commit
//
// Appends write each other's records (group.go): the first Append that
// finds no batch in progress writes up to Options.MaxBatch waiting records
// in one transaction on its own goroutine, and hands the next batch to the
// oldest append still waiting. Append returns only after the transaction
// holding its record commits, so a record whose Append returned survives
// SIGKILL (on SQLite, WAL with synchronous=NORMAL: a process crash loses no
// commit; a power loss may lose the last transactions, see package store).
// A batch is a few statements whatever its size: the chain head update,
// one multi-row INSERT per 64 records, the commit. The record's row, its
// sealed content and its canonical encoding are built by each caller
// before it queues, so the batch only links, hashes and writes. A commit
// writes the table, the index on id (which also serves time ranges: an id
// begins with its time), the indexes on end user and request id, and the
// chain head.
// On SQLite the store keeps the write-ahead log's checkpoints off the
// commit path and the log under its limit (store.Options.WALLimit).
//
// # Hash chain
//
// Records form one chain ordered by seq. Each record stores
//
//	hash = SHA-256(prev_hash || canonical(record))
//
// where canonical is a versioned, length-prefixed encoding of every stored
// field except seq, the content column and its erasure mark (see
// row.canonical). The writer assigns seq and prev_hash inside the batch
// transaction and moves the single chain-head row (audit_chain) in the
// same transaction, which locks it (a row lock on PostgreSQL, the database
// write lock on SQLite), so replicas sharing a PostgreSQL database extend
// one chain in one order. The head update names the head the writer left
// (UPDATE … WHERE seq = … AND hash = …), so a writer that wrote the last
// batch needs no read; when another writer moved the head in between, the
// update matches nothing and the writer reads and locks the head (SELECT …
// FOR UPDATE on PostgreSQL) and links the batch again.
//
// Content is bound to the chain through a digest: the record hash covers
// content_digest = SHA-256(content column), not the content itself. An
// Art. 11 deletion (ForgetUser) empties the content column and sets
// content_erased_at, then records the erasure (ActionErase) after the
// records it erased; the hash still verifies, Verify counts the erasure and
// holds every erased record to such a record (content emptied by hand is
// ProblemErased), and content that is present must still match its digest. The hashed form
// carries a random salt and the encrypted form a random nonce, so the
// digest that remains says nothing about the erased text.
//
// # Checkpoints, anchors and Verify
//
// Every Options.CheckpointEvery the chain head (seq, hash, time) is
// signed with an Ed25519 key (GenerateSigningKey, LoadSigningKey) and
// stored in audit_checkpoints. Purge deletes the oldest records and, in the
// same transaction, writes a signed anchor naming the last deleted record,
// from which Verify starts. Verify walks the chain in one read snapshot and
// names the first bad record: changed, removed, inserted, reordered, content
// that does not match its digest, checkpoints that disagree or carry a bad
// signature, and a chain head that does not match the last record.
//
// What the chain cannot show: someone with write access to the database
// can rewrite the records after the last signed checkpoint and recompute
// their hashes, because the chain itself holds no secret. Signed
// checkpoints bound that window to Options.CheckpointEvery: to rewrite an
// older record the checkpoints after it must go too, and Verify reports
// records written over more than MaxUnsignedSpan with no checkpoint
// between them (ProblemUnsigned), after the last checkpoint or before one
// signed later over the rewritten head. A rewrite of the newest minute's
// records, or a truncation of the tail with its checkpoints, is not seen
// that way; publishing
// checkpoints outside the database (a log, a timestamping service) makes
// rewriting older records detectable even by a verifier who distrusts the
// database. Without a signing key, checkpoints and anchors are unsigned and
// prove nothing to a third party.
//
// # Complaints
//
// Complaints have an intake (Create), a deadline (ComplaintOptions.Deadline,
// default 15 days), a status (open, in_review, answered, closed), an answer,
// and a hook (Enqueuer) that puts each new complaint into the review queue.
// Contact details are sealed with the keyring when one is configured and are
// otherwise stored as given; complaint text is stored as given, because
// reviewers must read it.
package audit
