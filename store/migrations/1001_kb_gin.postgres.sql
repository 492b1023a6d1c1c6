-- New chunks go straight into the GIN index rather than its pending
-- list, which every search would otherwise scan linearly until the next
-- vacuum: a slower ingest for steady search latency.
ALTER INDEX kb_chunks_tsv SET (fastupdate = off);
