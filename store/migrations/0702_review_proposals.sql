-- Proposals to the policy from the review desk (package review), and
-- when each replica first enforced a policy version: together with the
-- queue's times they give the time from a finding to its fix in force.

CREATE TABLE review_proposals (
    id           TEXT PRIMARY KEY,
    item_id      TEXT NOT NULL,
    kind         TEXT NOT NULL,              -- term | allow
    text         TEXT NOT NULL,              -- the phrase
    code         TEXT NOT NULL,              -- risk code of a term
    action       TEXT NOT NULL,              -- action of a term
    proposer     TEXT NOT NULL,              -- staff id
    time_ms      BIGINT NOT NULL,
    samples      INTEGER NOT NULL,           -- recorded texts replayed when proposed
    changed      INTEGER NOT NULL,           -- of them, those whose action it changes
    status       TEXT NOT NULL,              -- open | published
    version      TEXT NOT NULL DEFAULT '',   -- the policy version that took it in
    published_ms BIGINT
);

CREATE INDEX review_proposals_status ON review_proposals (status, time_ms);

CREATE TABLE review_enforced (
    replica  TEXT NOT NULL,
    version  TEXT NOT NULL,
    time_ms  BIGINT NOT NULL,               -- when the replica first put it in force
    PRIMARY KEY (replica, version)
);
