-- Staff accounts, their console sessions and personal admin API tokens
-- (package staff). Timestamps are Unix milliseconds; lists are JSON arrays
-- in TEXT. No secret is stored in plain text: passwords are argon2id PHC
-- strings, session and token secrets are SHA-256 hashes, TOTP secrets are
-- sealed with a key derived from the server secret.

CREATE TABLE staff (
    id                  TEXT PRIMARY KEY,
    name                TEXT NOT NULL UNIQUE,      -- login name, lower case
    email               TEXT NOT NULL DEFAULT '',
    role                TEXT NOT NULL,             -- admin, policy, reviewer, auditor, viewer
    tenants             TEXT NOT NULL DEFAULT '[]', -- tenant ids the role is limited to; [] = all
    state               TEXT NOT NULL DEFAULT 'active', -- active, disabled
    language            TEXT NOT NULL DEFAULT '',  -- '' (the browser's), zh-CN, en
    password_hash       TEXT NOT NULL DEFAULT '',  -- argon2id PHC string; '' = cannot log in
    password_changed_at BIGINT,
    totp_secret         TEXT NOT NULL DEFAULT '',  -- sealed; '' = none
    totp_enabled        BOOLEAN NOT NULL DEFAULT FALSE,
    totp_last_step      BIGINT NOT NULL DEFAULT 0, -- the last accepted time step: no replay
    failed_logins       INTEGER NOT NULL DEFAULT 0,
    locked_until        BIGINT,
    last_login_at       BIGINT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);

CREATE TABLE staff_sessions (
    id          TEXT PRIMARY KEY,                  -- public id, shown in the console
    secret_hash TEXT NOT NULL UNIQUE,              -- hex SHA-256 of the cookie value
    staff_id    TEXT NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    pending     TEXT NOT NULL DEFAULT '',          -- '' full; 'totp' awaits the code; 'enroll' must set TOTP up
    ip          TEXT NOT NULL DEFAULT '',
    user_agent  TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    seen_at     BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,                   -- the absolute timeout
    revoked_at  BIGINT
);

CREATE INDEX staff_sessions_staff ON staff_sessions (staff_id, created_at);

CREATE TABLE staff_tokens (
    id           TEXT PRIMARY KEY,                 -- the id visible in the token: fbs_<id>_<secret>
    staff_id     TEXT NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    name         TEXT NOT NULL DEFAULT '',
    secret_hash  TEXT NOT NULL,                    -- hex SHA-256 of the whole token
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    last_used_at BIGINT,
    revoked_at   BIGINT
);

CREATE INDEX staff_tokens_staff ON staff_tokens (staff_id);
