-- Up Migration
-- Version 2: approvals, blacklist entries and the runbook; incidents count how often they reopened.

ALTER TABLE incidents ADD COLUMN reopened integer NOT NULL DEFAULT 0;
CREATE INDEX incidents_active ON incidents (status) WHERE status IN ('open', 'remediating');
CREATE INDEX runs_signature_playbook ON runs (signature, playbook);

CREATE TABLE approvals (
  id         bigserial PRIMARY KEY,
  run_id     text NOT NULL,
  step       text,
  decision   text NOT NULL CHECK (decision IN ('approve', 'reject', 'timeout')),
  decided_by text NOT NULL,
  reason     text,
  decided_at timestamptz NOT NULL
);
CREATE INDEX approvals_run ON approvals (run_id, decided_at);

CREATE TABLE blacklist (
  id         bigserial PRIMARY KEY,
  actor      text NOT NULL,
  reason     text NOT NULL,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz,
  lifted_at  timestamptz
);
CREATE INDEX blacklist_actor ON blacklist (actor, created_at DESC);

-- One row per (event signature, playbook): what ran for that kind of event and how it ended.
CREATE TABLE runbook (
  signature         text NOT NULL,
  playbook          text NOT NULL,
  runs              integer NOT NULL,
  resolved          integer NOT NULL,
  failed            integer NOT NULL,
  stopped           integer NOT NULL,
  last_status       text NOT NULL,
  last_run_id       text NOT NULL,
  last_at           timestamptz NOT NULL,
  avg_resolve_ms    double precision,
  PRIMARY KEY (signature, playbook)
);

-- Runs recorded before this version fill the runbook.
INSERT INTO runbook (signature, playbook, runs, resolved, failed, stopped, last_status, last_run_id, last_at, avg_resolve_ms)
SELECT COALESCE(r.signature, 'unknown'), r.playbook,
       count(*), count(*) FILTER (WHERE r.status = 'resolved'), count(*) FILTER (WHERE r.status = 'failed'),
       count(*) FILTER (WHERE r.status = 'stopped'),
       (array_agg(r.status ORDER BY r.ended_at DESC))[1], (array_agg(r.id ORDER BY r.ended_at DESC))[1], max(r.ended_at),
       avg(r.duration_ms) FILTER (WHERE r.status = 'resolved')
FROM runs r
WHERE r.status IN ('resolved', 'failed', 'stopped') AND r.ended_at IS NOT NULL
GROUP BY COALESCE(r.signature, 'unknown'), r.playbook;

-- Down Migration
DROP TABLE runbook;
DROP TABLE blacklist;
DROP TABLE approvals;
DROP INDEX runs_signature_playbook;
DROP INDEX incidents_active;
ALTER TABLE incidents DROP COLUMN reopened;
