-- Upstreams, public models and the routing rules added through the admin API
-- (package catalog). Entries from the config file are not stored here.
-- kind is 'upstream', 'model' or 'routing'; body is the entry as JSON.

CREATE TABLE catalog_entries (
    kind       TEXT NOT NULL,
    name       TEXT NOT NULL,
    body       TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (kind, name)
);
