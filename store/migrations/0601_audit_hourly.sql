-- Hourly counters of the audit records (package audit, hourly.go), kept by
-- the audit writer in the transaction that appends the records they count
-- and lowered by retention purges in the transaction that deletes them, so
-- they always equal a count over the records. The console's dashboard reads
-- them instead of the records: 30 days are at most 720 hours of rows.
-- Staff actions are not counted. hour_ms is time_ms - time_ms % 3600000.

-- Requests per hour, tenant, model, upstream, each direction's action and
-- risk code, and outcome.
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
    requests      BIGINT NOT NULL,
    PRIMARY KEY (hour_ms, tenant_id, model, upstream, input_action, input_code, output_action, output_code, outcome)
);

-- A bounded latency histogram per hour and tenant: le_ms is the upper bound
-- of the bin a request's total_ms falls in (audit.latencyBins). Requests
-- rejected before review are not counted.
CREATE TABLE audit_hourly_latency (
    hour_ms   BIGINT NOT NULL,
    tenant_id TEXT NOT NULL,
    le_ms     BIGINT NOT NULL,
    requests  BIGINT NOT NULL,
    PRIMARY KEY (hour_ms, tenant_id, le_ms)
);
