-- change_log: the ordered record of changes published by package notify.
-- Appends take an advisory lock held to commit, so seq order is the commit
-- order; the identity keeps the default CACHE 1 so values follow that lock.
CREATE TABLE change_log (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic      TEXT NOT NULL,
    payload    TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX change_log_created ON change_log (created_at);
