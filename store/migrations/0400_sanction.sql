-- Strikes, graded sanctions and blacklists (package sanction).
-- Timestamps are Unix milliseconds; lists are JSON arrays in TEXT. End users
-- are referenced by id without a foreign key: the history must outlive the
-- account row (records are kept after a user is deleted).

-- One row per end user with a violation on record: the row every strike
-- evaluation locks, so one user's violations are counted one at a time.
CREATE TABLE sanction_strikes (
    tenant_id   TEXT NOT NULL,
    end_user_id TEXT NOT NULL,
    seq         BIGINT NOT NULL DEFAULT 0,  -- violations recorded, ever
    spent_seq   BIGINT NOT NULL DEFAULT 0,  -- seq that last escalated; older ones are spent
    in_a_row    INTEGER NOT NULL DEFAULT 0, -- violations since the last clean input
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, end_user_id)
);

CREATE TABLE sanction_violations (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    end_user_id TEXT NOT NULL,
    seq         BIGINT NOT NULL,            -- the user's seq for this violation
    code        TEXT NOT NULL,              -- risk code, e.g. A1a
    direction   TEXT NOT NULL,              -- input | output
    source      TEXT NOT NULL,              -- machine | review
    actor       TEXT NOT NULL,              -- system, or the reviewer's id
    evidence    TEXT NOT NULL DEFAULT '[]', -- audit record / request ids
    at          BIGINT NOT NULL,            -- when the content was entered
    created_at  BIGINT NOT NULL,            -- when it was recorded
    UNIQUE (tenant_id, end_user_id, seq)
);

CREATE INDEX sanction_violations_day ON sanction_violations (tenant_id, end_user_id, at);

-- The sanctions history: every step imposed, by the ladder or by a person,
-- and its lifting.
CREATE TABLE sanctions (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    end_user_id  TEXT NOT NULL,
    action       TEXT NOT NULL,             -- warn | restrict | suspend | terminate
    step         INTEGER NOT NULL,          -- ladder step index, -1 when imposed by hand
    violation_id TEXT NOT NULL DEFAULT '',  -- the violation that triggered it
    reason       TEXT NOT NULL,
    actor        TEXT NOT NULL,             -- system, or an admin / reviewer id
    rpm          INTEGER NOT NULL DEFAULT 0,
    models       TEXT NOT NULL DEFAULT '[]',
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,                    -- NULL: until lifted
    lifted_at    BIGINT,
    lifted_by    TEXT NOT NULL DEFAULT '',
    lift_reason  TEXT NOT NULL DEFAULT ''
);

CREATE INDEX sanctions_user ON sanctions (tenant_id, end_user_id, created_at);

-- Blacklist entries. tenant_id '' applies to every tenant. value is the
-- end-user id, the device id, the canonical IP prefix (a.b.c.d/n, x::/n), or
-- the lowercase hex HMAC-SHA-256 of a phone or identity number: never the
-- plain number.
CREATE TABLE blacklist (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    kind        TEXT NOT NULL,              -- user | phone | id_number | ip | device
    value       TEXT NOT NULL,
    reason      TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT,                     -- NULL: never
    UNIQUE (tenant_id, kind, value)
);
