-- Up Migration
-- LLM diagnoses: every diagnosis of an incident (a `diagnose` step or `homeostat diagnose`), with the
-- provider that answered, latency, tokens, cost estimate, the parsed answer, what was done with it, and
-- every provider call (refused answers and errors with their reasons).

CREATE TABLE diagnoses (
  id          text PRIMARY KEY,
  incident_id text REFERENCES incidents (id) ON DELETE SET NULL,
  run_id      text,
  step        text,
  signature   text,
  target      text,
  provider    text,
  model       text,
  latency_ms  double precision,
  tokens      integer NOT NULL DEFAULT 0,
  cost_usd    double precision NOT NULL DEFAULT 0,
  answer      jsonb,
  decision    jsonb,
  calls       jsonb NOT NULL DEFAULT '[]'::jsonb,
  reason      text,
  created_at  timestamptz NOT NULL
);
CREATE INDEX diagnoses_incident ON diagnoses (incident_id, created_at DESC);

-- Down Migration
DROP TABLE diagnoses;
