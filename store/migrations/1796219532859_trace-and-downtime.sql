-- Up Migration
-- Version 3: the OpenTelemetry trace of each incident and run; each incident's downtime, what it
-- cost, and the downtime (and cost) avoided against a manual repair.

ALTER TABLE incidents ADD COLUMN trace_id text;
ALTER TABLE incidents ADD COLUMN downtime_ms double precision;
ALTER TABLE incidents ADD COLUMN downtime_avoided_ms double precision;
ALTER TABLE incidents ADD COLUMN downtime_cost double precision;
ALTER TABLE incidents ADD COLUMN cost_avoided double precision;
ALTER TABLE runs ADD COLUMN trace_id text;
CREATE INDEX incidents_trace ON incidents (trace_id) WHERE trace_id IS NOT NULL;
CREATE INDEX runs_trace ON runs (trace_id) WHERE trace_id IS NOT NULL;

-- Down Migration
DROP INDEX IF EXISTS runs_trace;
DROP INDEX IF EXISTS incidents_trace;
ALTER TABLE runs DROP COLUMN trace_id;
ALTER TABLE incidents DROP COLUMN cost_avoided;
ALTER TABLE incidents DROP COLUMN downtime_cost;
ALTER TABLE incidents DROP COLUMN downtime_avoided_ms;
ALTER TABLE incidents DROP COLUMN downtime_ms;
ALTER TABLE incidents DROP COLUMN trace_id;
