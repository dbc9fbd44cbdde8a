-- Up Migration
-- Version 1: incidents, the runs that remediated them, their steps and every action call.

CREATE TABLE incidents (
  id            text PRIMARY KEY,
  target        text NOT NULL,
  family        text NOT NULL,
  signature     text NOT NULL,
  status        text NOT NULL CHECK (status IN ('open', 'remediating', 'resolved', 'failed', 'stopped')),
  opened_at     timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL,
  last_event_at timestamptz NOT NULL,
  resolved_at   timestamptz,
  mttr_ms       double precision,
  event_count   integer NOT NULL DEFAULT 1,
  run_count     integer NOT NULL DEFAULT 0,
  error_logs    jsonb NOT NULL DEFAULT '[]'::jsonb,
  metrics       jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX incidents_opened_at ON incidents (opened_at DESC);
CREATE INDEX incidents_target_family ON incidents (target, family, last_event_at DESC);

CREATE TABLE runs (
  id          text PRIMARY KEY,
  incident_id text REFERENCES incidents (id) ON DELETE SET NULL,
  playbook    text NOT NULL,
  target      text NOT NULL,
  event_id    text,
  signature   text,
  status      text NOT NULL CHECK (status IN ('running', 'awaiting_approval', 'resolved', 'failed', 'stopped')),
  reason      text,
  started_at  timestamptz NOT NULL,
  ended_at    timestamptz,
  duration_ms double precision
);
CREATE INDEX runs_started_at ON runs (started_at DESC);
CREATE INDEX runs_incident ON runs (incident_id);

CREATE TABLE steps (
  run_id        text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  seq           integer NOT NULL,
  step          text NOT NULL,
  action        text,
  params        jsonb,
  status        text NOT NULL,
  error         text,
  exit_code     integer,
  stdout        text,
  stderr        text,
  result        jsonb,
  duration_ms   double precision,
  attempt       integer NOT NULL DEFAULT 1,
  health_before jsonb,
  health_after  jsonb,
  started_at    timestamptz,
  ended_at      timestamptz NOT NULL,
  PRIMARY KEY (run_id, seq)
);

CREATE TABLE actions (
  id           text PRIMARY KEY,
  run_id       text,
  step_seq     integer,
  action       text NOT NULL,
  target       text,
  params       jsonb NOT NULL DEFAULT '{}'::jsonb,
  status       text NOT NULL DEFAULT 'pending',
  requested_at timestamptz NOT NULL,
  completed_at timestamptz,
  duration_ms  double precision,
  exit_code    integer,
  stdout       text,
  stderr       text,
  error        text,
  result       jsonb
);
CREATE INDEX actions_run ON actions (run_id, requested_at);

-- Down Migration
DROP TABLE actions;
DROP TABLE steps;
DROP TABLE runs;
DROP TABLE incidents;
