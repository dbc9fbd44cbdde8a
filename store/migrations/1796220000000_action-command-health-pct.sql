-- Up Migration
-- Every action call records the command as an operator would read it and the target's health %
-- before and after (0–100, when the handler measured it: Redis memory, PostgreSQL connections).

ALTER TABLE actions ADD COLUMN command text;
ALTER TABLE actions ADD COLUMN health_before_pct double precision;
ALTER TABLE actions ADD COLUMN health_after_pct double precision;

-- Down Migration
ALTER TABLE actions DROP COLUMN health_after_pct;
ALTER TABLE actions DROP COLUMN health_before_pct;
ALTER TABLE actions DROP COLUMN command;
