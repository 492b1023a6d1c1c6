-- Rectification exports (package review): who wrote which confirmed
-- cases as fine-tuning data, with which filters, and digests of the files.

CREATE TABLE review_exports (
    id          TEXT PRIMARY KEY,
    time_ms     BIGINT NOT NULL,
    actor       TEXT NOT NULL,     -- the staff member, or the offline command's operator
    filters     TEXT NOT NULL,     -- JSON: from, to, code, route
    items       INTEGER NOT NULL,  -- confirmed cases written
    sft         INTEGER NOT NULL,  -- lines of the chat SFT file
    pairs       INTEGER NOT NULL,  -- lines of the preference file
    digest      TEXT NOT NULL      -- SHA-256 over the files written, in order
);
