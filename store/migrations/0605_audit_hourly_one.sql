-- One table of hourly counters instead of two (package audit, hourly.go):
-- the latency bin joins the key of audit_hourly, so a batch of appends
-- upserts one counter table, one B-tree page written per commit fewer than
-- with audit_hourly_latency beside it. le_ms is the upper bound of the bin
-- a request's total_ms falls in (audit.latencyBins, repeated below), and 0
-- for requests rejected before review, which the latency histogram leaves
-- out. The counters equal a count over the records at every commit, so
-- they are counted again from the records.
DROP TABLE audit_hourly_latency;
DROP TABLE audit_hourly;

CREATE TABLE audit_hourly (
    hour_ms       BIGINT NOT NULL,
    tenant_id     TEXT NOT NULL,
    model         TEXT NOT NULL,
    upstream      TEXT NOT NULL,
    input_action  TEXT NOT NULL,
    input_code    TEXT NOT NULL,
    output_action TEXT NOT NULL,
    output_code   TEXT NOT NULL,
    outcome       TEXT NOT NULL,
    le_ms         BIGINT NOT NULL,
    requests      BIGINT NOT NULL,
    PRIMARY KEY (hour_ms, tenant_id, model, upstream, input_action, input_code, output_action, output_code, outcome, le_ms)
);

INSERT INTO audit_hourly (hour_ms, tenant_id, model, upstream, input_action, input_code,
    output_action, output_code, outcome, le_ms, requests)
SELECT h, tenant_id, model, upstream, input_action, input_code, output_action, output_code, outcome, le, COUNT(*) FROM (
    SELECT time_ms - time_ms % 3600000 AS h, tenant_id, model, upstream, input_action, input_code,
        output_action, output_code, outcome,
        CASE WHEN outcome = 'rejected' THEN 0
            WHEN total_ms <= 5 THEN 5 WHEN total_ms <= 10 THEN 10 WHEN total_ms <= 25 THEN 25
            WHEN total_ms <= 50 THEN 50 WHEN total_ms <= 100 THEN 100 WHEN total_ms <= 250 THEN 250
            WHEN total_ms <= 500 THEN 500 WHEN total_ms <= 1000 THEN 1000 WHEN total_ms <= 2500 THEN 2500
            WHEN total_ms <= 5000 THEN 5000 WHEN total_ms <= 10000 THEN 10000 WHEN total_ms <= 30000 THEN 30000
            WHEN total_ms <= 60000 THEN 60000 ELSE 1099511627776 END AS le
    FROM audit_records
    WHERE route <> 'staff'
) AS binned
GROUP BY h, tenant_id, model, upstream, input_action, input_code, output_action, output_code, outcome, le;
