-- The desk's per-source timers read the oldest open item of a source
-- from an index instead of the rows (package review, Queue.Counts).
CREATE INDEX review_items_oldest ON review_items (source, state, enqueued_ms);
