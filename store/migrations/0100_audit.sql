-- Audit trail, checkpoints and complaints (package audit).
-- Timestamps are Unix milliseconds; lists are JSON arrays in TEXT; hashes are
-- lowercase hex SHA-256. See audit/doc.go for the hash chain and what each
-- record's hash covers.

-- The chain head: the last sequence number and hash. Every batch of appends
-- locks this one row, so replicas sharing a PostgreSQL database append to one
-- chain in one order.
CREATE TABLE audit_chain (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);

INSERT INTO audit_chain (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE audit_records (
    seq               BIGINT PRIMARY KEY,      -- position in the chain, from 1
    id                TEXT NOT NULL UNIQUE,    -- time-ordered record id
    request_id        TEXT NOT NULL,
    time_ms           BIGINT NOT NULL,
    tenant_id         TEXT NOT NULL,
    key_id            TEXT NOT NULL,
    end_user          TEXT NOT NULL,           -- pseudonymous end-user id
    model             TEXT NOT NULL,
    route             TEXT NOT NULL,
    upstream          TEXT NOT NULL,
    stream            BOOLEAN NOT NULL,
    input_action      TEXT NOT NULL,
    input_code        TEXT NOT NULL,
    input_hits        TEXT NOT NULL,           -- JSON array of {detector, rule, code, action}
    output_action     TEXT NOT NULL,
    output_code       TEXT NOT NULL,
    output_hits       TEXT NOT NULL,
    codes             TEXT NOT NULL,           -- " A1a A4f ": every risk code, for search
    policy_version    TEXT NOT NULL,
    sanctions         TEXT NOT NULL,           -- JSON array
    total_ms          BIGINT NOT NULL,
    first_byte_ms     BIGINT NOT NULL,
    prompt_tokens     BIGINT NOT NULL,
    completion_tokens BIGINT NOT NULL,
    total_tokens      BIGINT NOT NULL,
    status            INTEGER NOT NULL,
    outcome           TEXT NOT NULL,
    content_digest    TEXT NOT NULL,           -- SHA-256 of content as first stored; '' when none
    content           TEXT NOT NULL,           -- hashes or ciphertext, never plaintext; erasable
    content_erased_at BIGINT,                  -- set when content was erased on request
    prev_hash         TEXT NOT NULL,
    hash              TEXT NOT NULL
);

CREATE INDEX audit_records_time ON audit_records (time_ms);
CREATE INDEX audit_records_user ON audit_records (tenant_id, end_user, seq);
CREATE INDEX audit_records_request ON audit_records (request_id);

-- Signed checkpoints (kind 'checkpoint') and purge anchors (kind 'anchor').
CREATE TABLE audit_checkpoints (
    kind      TEXT NOT NULL,
    seq       BIGINT NOT NULL,
    hash      TEXT NOT NULL,
    time_ms   BIGINT NOT NULL,
    key_id    TEXT NOT NULL,                   -- '' when unsigned
    signature TEXT NOT NULL,                   -- base64 Ed25519; '' when unsigned
    PRIMARY KEY (kind, seq)
);

CREATE TABLE audit_complaints (
    id          TEXT PRIMARY KEY,
    time_ms     BIGINT NOT NULL,
    tenant_id   TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    category    TEXT NOT NULL,
    text        TEXT NOT NULL,
    contact     TEXT NOT NULL,                 -- sealed with the keyring when contact_key <> ''
    contact_key TEXT NOT NULL,
    status      TEXT NOT NULL,
    deadline_ms BIGINT NOT NULL,
    answer      TEXT NOT NULL,
    answered_at BIGINT,
    answered_by TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE INDEX audit_complaints_status ON audit_complaints (status, deadline_ms);
CREATE INDEX audit_complaints_tenant ON audit_complaints (tenant_id, time_ms);
