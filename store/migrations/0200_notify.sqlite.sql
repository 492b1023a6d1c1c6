-- change_log: the ordered record of changes published by package notify.
-- AUTOINCREMENT so a seq is never reused after the newest rows are pruned;
-- SQLite's single writer makes seq order the commit order.
CREATE TABLE change_log (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    topic      TEXT NOT NULL,
    payload    TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX change_log_created ON change_log (created_at);
