-- Real-name verification, phone codes, send limits and minors' daily usage
-- (package identity). Timestamps are Unix milliseconds. Phone numbers, ID
-- numbers, credit codes and client IPs are never stored: only lowercase hex
-- HMAC-SHA-256 under a server secret, and masked display forms such as
-- 138****5678. See identity/doc.go.

-- One row per verified end user; no row means "unverified".
CREATE TABLE identity_states (
    user_id      TEXT PRIMARY KEY REFERENCES end_users (id) ON DELETE CASCADE,
    tenant_id    TEXT NOT NULL,
    level        TEXT NOT NULL,              -- phone, id_document, organisation, attested
    level_rank   INTEGER NOT NULL,           -- the level's order, so SQL can keep the higher one
    method       TEXT NOT NULL,              -- how the level was reached: sms, id_format, id_checked, uscc_format, token
    phone_hash   TEXT NOT NULL DEFAULT '',
    phone_masked TEXT NOT NULL DEFAULT '',
    id_hash      TEXT NOT NULL DEFAULT '',
    id_masked    TEXT NOT NULL DEFAULT '',
    org_hash     TEXT NOT NULL DEFAULT '',
    org_masked   TEXT NOT NULL DEFAULT '',
    org_name     TEXT NOT NULL DEFAULT '',   -- a public register name, not personal data
    minor        BOOLEAN NOT NULL DEFAULT FALSE,
    minor_until  TEXT NOT NULL DEFAULT '',   -- YYYY-MM-DD of the 18th birthday, kept only while a minor
    verified_at  BIGINT NOT NULL,            -- when the current level was reached
    updated_at   BIGINT NOT NULL
);

CREATE INDEX identity_states_phone ON identity_states (phone_hash);
CREATE INDEX identity_states_id ON identity_states (id_hash);

-- The pending phone code of an end user: one at a time, replaced by the next.
CREATE TABLE identity_codes (
    user_id      TEXT PRIMARY KEY REFERENCES end_users (id) ON DELETE CASCADE,
    tenant_id    TEXT NOT NULL,
    phone_hash   TEXT NOT NULL,
    phone_masked TEXT NOT NULL,
    code_hash    TEXT NOT NULL,              -- HMAC of user, phone and code
    attempts     INTEGER NOT NULL DEFAULT 0,
    expires_at   BIGINT NOT NULL,
    used_at      BIGINT,                     -- set once confirmed: a used code never works again
    created_at   BIGINT NOT NULL
);

-- Fixed-window counters shared by every replica: code sends per phone and
-- per client IP, and minors' requests per local day.
CREATE TABLE identity_counters (
    subject    TEXT NOT NULL,                -- e.g. "phone-day:<hmac>", "ip-hour:<hmac>", "minor-day:<user id>"
    win        BIGINT NOT NULL,              -- window number (minutes, hours or local days since 1970)
    n          INTEGER NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (subject, win)
);

CREATE INDEX identity_counters_expiry ON identity_counters (expires_at);
