-- Fewer B-trees written per audit commit (package audit, writer.go): seq
-- becomes the table's rowid (BIGINT PRIMARY KEY was a separate index beside
-- a hidden rowid), and the index on time_ms goes: a record id begins with
-- its time in milliseconds (audit.NewID), so time ranges are id ranges on
-- the id index. Each commit wrote the table, five indexes and the chain
-- head; it now writes the table, three indexes and the head.
CREATE TABLE audit_records_lean (
    seq               INTEGER PRIMARY KEY,
    id                TEXT NOT NULL UNIQUE,
    request_id        TEXT NOT NULL,
    time_ms           BIGINT NOT NULL,
    tenant_id         TEXT NOT NULL,
    key_id            TEXT NOT NULL,
    end_user          TEXT NOT NULL,
    model             TEXT NOT NULL,
    route             TEXT NOT NULL,
    upstream          TEXT NOT NULL,
    stream            BOOLEAN NOT NULL,
    input_action      TEXT NOT NULL,
    input_code        TEXT NOT NULL,
    input_hits        TEXT NOT NULL,
    output_action     TEXT NOT NULL,
    output_code       TEXT NOT NULL,
    output_hits       TEXT NOT NULL,
    codes             TEXT NOT NULL,
    policy_version    TEXT NOT NULL,
    sanctions         TEXT NOT NULL,
    total_ms          BIGINT NOT NULL,
    first_byte_ms     BIGINT NOT NULL,
    prompt_tokens     BIGINT NOT NULL,
    completion_tokens BIGINT NOT NULL,
    total_tokens      BIGINT NOT NULL,
    status            INTEGER NOT NULL,
    outcome           TEXT NOT NULL,
    content_digest    TEXT NOT NULL,
    content           TEXT NOT NULL,
    content_erased_at BIGINT,
    prev_hash         TEXT NOT NULL,
    hash              TEXT NOT NULL,
    label             TEXT NOT NULL DEFAULT ''
);

INSERT INTO audit_records_lean (seq, id, request_id, time_ms, tenant_id, key_id, end_user, model, route,
    upstream, stream, input_action, input_code, input_hits, output_action, output_code, output_hits,
    codes, policy_version, sanctions, total_ms, first_byte_ms, prompt_tokens, completion_tokens,
    total_tokens, status, outcome, content_digest, content, content_erased_at, prev_hash, hash, label)
SELECT seq, id, request_id, time_ms, tenant_id, key_id, end_user, model, route,
    upstream, stream, input_action, input_code, input_hits, output_action, output_code, output_hits,
    codes, policy_version, sanctions, total_ms, first_byte_ms, prompt_tokens, completion_tokens,
    total_tokens, status, outcome, content_digest, content, content_erased_at, prev_hash, hash, label
FROM audit_records;

DROP TABLE audit_records;
ALTER TABLE audit_records_lean RENAME TO audit_records;
CREATE INDEX audit_records_user ON audit_records (tenant_id, end_user, seq);
CREATE INDEX audit_records_request ON audit_records (request_id);
