-- The review desk (package review): the queue of items for human review,
-- every decision taken on them, appeals by end users, proposals to the
-- policy, and rectification exports. Timestamps are Unix milliseconds.
-- No content of an exchange is stored here: an item names its audit
-- record, whose content the trail keeps hashed or sealed. Texts written by
-- end users (appeals) are sealed with the audit keyring when one is set.

CREATE TABLE review_items (
    id             TEXT PRIMARY KEY,
    source         TEXT NOT NULL,             -- review | sample | complaint | appeal
    ref            TEXT NOT NULL,             -- audit record id, complaint id or appeal id
    state          TEXT NOT NULL,             -- open | done
    stage          INTEGER NOT NULL,          -- 1 first review, 2 second review, 3 senior review
    tenant_id      TEXT NOT NULL,
    end_user       TEXT NOT NULL,
    record_id      TEXT NOT NULL,             -- the audit record of the exchange, '' when none
    route          TEXT NOT NULL,
    codes          TEXT NOT NULL,             -- " A1a A5a ": risk codes, for filters
    policy_version TEXT NOT NULL,
    reason         TEXT NOT NULL,             -- why it is in the queue
    exchange_ms    BIGINT NOT NULL,           -- when the exchange (or filing) happened
    enqueued_ms    BIGINT NOT NULL,
    due_ms         BIGINT NOT NULL,           -- the service-level deadline; the queue's order
    reviewers      TEXT NOT NULL DEFAULT ' ', -- " s1 s2 ": who decided it so far
    lease_owner    TEXT NOT NULL DEFAULT '',
    lease_token    TEXT NOT NULL DEFAULT '',
    lease_until    BIGINT NOT NULL DEFAULT 0,
    outcome        TEXT NOT NULL DEFAULT '',  -- final verdict: violation | no_violation
    outcome_code   TEXT NOT NULL DEFAULT '',
    effect         TEXT NOT NULL DEFAULT '',  -- JSON: what the final decision did
    decided_ms     BIGINT,
    UNIQUE (source, ref)
);

-- The queue's order and its filters: open items by deadline.
CREATE INDEX review_items_queue ON review_items (state, due_ms);
CREATE INDEX review_items_source ON review_items (source, state, due_ms);
CREATE INDEX review_items_decided ON review_items (state, decided_ms);

CREATE TABLE review_decisions (
    id          TEXT PRIMARY KEY,
    item_id     TEXT NOT NULL REFERENCES review_items (id),
    stage       INTEGER NOT NULL,
    reviewer    TEXT NOT NULL,                -- staff id
    verdict     TEXT NOT NULL,                -- violation | no_violation | escalate
    code        TEXT NOT NULL,                -- risk code of a violation
    note        TEXT NOT NULL,
    corrected   TEXT NOT NULL,                -- the answer the model should have given
    time_ms     BIGINT NOT NULL
);

CREATE INDEX review_decisions_item ON review_decisions (item_id, stage);

CREATE TABLE review_appeals (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    end_user     TEXT NOT NULL,
    sanction_id  TEXT NOT NULL,               -- the sanction appealed against
    violation_id TEXT NOT NULL,               -- its violation, '' when imposed by hand
    text         TEXT NOT NULL,               -- sealed when text_key <> ''
    text_key     TEXT NOT NULL,
    status       TEXT NOT NULL,               -- open | upheld | granted
    answer       TEXT NOT NULL,
    time_ms      BIGINT NOT NULL,
    answered_ms  BIGINT
);

CREATE INDEX review_appeals_user ON review_appeals (tenant_id, end_user, time_ms);
