-- Policy versions, their publication history and the version in force
-- (package policy). Timestamps are Unix milliseconds.

-- One row per distinct bundle ever published; id is the content hash.
CREATE TABLE policy_versions (
    id           TEXT PRIMARY KEY,
    files        TEXT NOT NULL,   -- JSON object: file path -> content
    lexicon_hash TEXT NOT NULL,   -- hash of the lexicon files only, for the weekly-update check
    terms        INTEGER NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);

-- Every publish and rollback, in order.
CREATE TABLE policy_events (
    seq        BIGINT PRIMARY KEY,
    kind       TEXT NOT NULL,     -- publish | rollback
    version_id TEXT NOT NULL,
    previous   TEXT NOT NULL,     -- version in force before; '' for the first
    author     TEXT NOT NULL,
    reason     TEXT NOT NULL,
    at         BIGINT NOT NULL
);

-- The version in force: one row, locked by every publish and rollback.
CREATE TABLE policy_active (
    name       TEXT PRIMARY KEY,
    version_id TEXT NOT NULL,     -- '' until the first publish
    event_seq  BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

INSERT INTO policy_active (name, version_id, event_seq, updated_at) VALUES ('active', '', 0, 0);
