-- Indexes for the console's audit search (package audit, search.go), which
-- pages newest first by seq (keyset: each page continues below the last
-- seq seen).
-- One tenant's records in chain order: a tenant filter walks its own
-- records instead of sorting all of them.
CREATE INDEX audit_records_tenant ON audit_records (tenant_id, seq);
-- Flagged records only (a risk code, or an action other than allow), with
-- the columns the search filters on, so a search by decision or risk code
-- reads this small index newest first and the table only for matches. The
-- search repeats this predicate word for word so that both databases use
-- the partial index.
CREATE INDEX audit_records_flagged ON audit_records (seq, tenant_id, route, outcome, input_action, output_action, codes)
    WHERE codes <> '' OR input_action NOT IN ('', 'allow') OR output_action NOT IN ('', 'allow');
