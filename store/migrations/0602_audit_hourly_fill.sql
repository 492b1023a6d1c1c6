-- Counts the records already on the trail into the hourly counters
-- (0601_audit_hourly). The bins repeat audit.latencyBins; a test runs this
-- file again over a trail and compares with the writer's counters.
INSERT INTO audit_hourly (hour_ms, tenant_id, model, upstream, input_action, input_code,
    output_action, output_code, outcome, requests)
SELECT time_ms - time_ms % 3600000, tenant_id, model, upstream, input_action, input_code,
    output_action, output_code, outcome, COUNT(*)
FROM audit_records
WHERE route <> 'staff'
GROUP BY time_ms - time_ms % 3600000, tenant_id, model, upstream, input_action, input_code,
    output_action, output_code, outcome;

INSERT INTO audit_hourly_latency (hour_ms, tenant_id, le_ms, requests)
SELECT h, tenant_id, le, COUNT(*) FROM (
    SELECT time_ms - time_ms % 3600000 AS h, tenant_id,
        CASE WHEN total_ms <= 5 THEN 5 WHEN total_ms <= 10 THEN 10 WHEN total_ms <= 25 THEN 25
            WHEN total_ms <= 50 THEN 50 WHEN total_ms <= 100 THEN 100 WHEN total_ms <= 250 THEN 250
            WHEN total_ms <= 500 THEN 500 WHEN total_ms <= 1000 THEN 1000 WHEN total_ms <= 2500 THEN 2500
            WHEN total_ms <= 5000 THEN 5000 WHEN total_ms <= 10000 THEN 10000 WHEN total_ms <= 30000 THEN 30000
            WHEN total_ms <= 60000 THEN 60000 ELSE 1099511627776 END AS le
    FROM audit_records
    WHERE route <> 'staff' AND outcome <> 'rejected'
) AS binned
GROUP BY h, tenant_id, le;
