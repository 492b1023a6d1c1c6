-- PostgreSQL only (the GIN index of kb_chunks); FTS5 needs no change.
SELECT 1;
