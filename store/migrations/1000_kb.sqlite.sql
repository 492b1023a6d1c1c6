-- Knowledge bases (package kb): documents cut into chunks, indexed for
-- BM25 retrieval with FTS5, and the grounding settings of routes.
-- Timestamps are Unix milliseconds.

-- A knowledge base serves one route (public model) or all (''), and one
-- tenant (by name) or all ('').
CREATE TABLE kb_bases (
    name        TEXT PRIMARY KEY,
    route       TEXT NOT NULL,
    tenant      TEXT NOT NULL,
    description TEXT NOT NULL,
    chunks      BIGINT NOT NULL DEFAULT 0,  -- BM25's N
    terms       BIGINT NOT NULL DEFAULT 0,  -- sum of chunk lengths: N × average length
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE kb_documents (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    base       TEXT NOT NULL REFERENCES kb_bases (name) ON DELETE CASCADE,
    title      TEXT NOT NULL,
    format     TEXT NOT NULL,
    sha256     TEXT NOT NULL,   -- of the uploaded bytes: the same file twice is one document
    bytes      BIGINT NOT NULL,
    chunks     INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE UNIQUE INDEX kb_documents_hash ON kb_documents (base, sha256);

-- terms: the chunk's index terms (kb.Terms) joined by spaces; length:
-- their number, BM25's document length.
CREATE TABLE kb_chunks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id BIGINT NOT NULL REFERENCES kb_documents (id) ON DELETE CASCADE,
    base        TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    text        TEXT NOT NULL,
    terms       TEXT NOT NULL,
    length      INTEGER NOT NULL
);

CREATE INDEX kb_chunks_document ON kb_chunks (document_id);

-- The full-text index of kb_chunks.terms, rowid = kb_chunks.id. The
-- terms are already segmented (CJK bigrams), so unicode61 only splits
-- them at the spaces.
CREATE VIRTUAL TABLE kb_fts USING fts5 (terms, content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 0');

-- A grounded route: its answers are grounded in the knowledge bases that
-- serve it, and checked for support.
CREATE TABLE kb_grounding (
    route       TEXT PRIMARY KEY,
    action      TEXT NOT NULL,     -- annotate | caution | refuse
    top_k       INTEGER NOT NULL,
    min_support DOUBLE PRECISION NOT NULL,
    updated_by  TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);
