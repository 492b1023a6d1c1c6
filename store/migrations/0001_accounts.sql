-- Tenants, API keys, end users, token usage and settings (package account).
-- Timestamps are Unix milliseconds; lists are JSON arrays in TEXT.

CREATE TABLE tenants (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    default_model TEXT NOT NULL DEFAULT '',
    models        TEXT NOT NULL DEFAULT '[]',
    rpm           INTEGER NOT NULL DEFAULT 0,
    concurrent    INTEGER NOT NULL DEFAULT 0,
    tpm           INTEGER NOT NULL DEFAULT 0,
    token_quota   BIGINT NOT NULL DEFAULT 0,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,          -- the id visible in the key: fbk_<id>_<secret>
    tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name         TEXT NOT NULL DEFAULT '',
    secret_hash  TEXT NOT NULL,             -- hex SHA-256 of the whole key
    models       TEXT NOT NULL DEFAULT '[]',
    rpm          INTEGER NOT NULL DEFAULT 0,
    concurrent   INTEGER NOT NULL DEFAULT 0,
    tpm          INTEGER NOT NULL DEFAULT 0,
    token_quota  BIGINT NOT NULL DEFAULT 0,
    expires_at   BIGINT,
    revoked_at   BIGINT,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT
);

CREATE INDEX api_keys_tenant ON api_keys (tenant_id);

CREATE TABLE end_users (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    external_id  TEXT NOT NULL,             -- the operator's own user id
    status       TEXT NOT NULL DEFAULT 'active',
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    UNIQUE (tenant_id, external_id)
);

CREATE TABLE token_usage (
    subject    TEXT PRIMARY KEY,            -- "key:<id>" or "user:<id>"
    tokens     BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
);

CREATE TABLE settings (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
