import { StoreError } from './errors.js';
import { bounded, json, toAction, toApproval, toBlacklist, toDiagnosis, toIncident, toRun, toRunbook, toRunSummary, toStep, ts } from './row-mapping.js';
import type { SqlClient, SqlQueryable } from './sql-client.js';
import type {
  ActionRecord,
  ApprovalRecord,
  BlacklistEntry,
  DiagnosisRecord,
  IncidentRecord,
  IncidentStatus,
  RunbookEntry,
  RunDetail,
  RunRecord,
  RunSummary,
  StepRecord,
  Store,
} from './store.js';

const ENDED = `('resolved', 'failed', 'stopped')`;

const UPSERT_INCIDENT = `
INSERT INTO incidents (id, target, family, signature, status, opened_at, updated_at, last_event_at, resolved_at, mttr_ms,
                       event_count, run_count, reopened, error_logs, metrics, trace_id, downtime_ms, downtime_avoided_ms, downtime_cost, cost_avoided)
VALUES ($1, $2, $3, $4, $5, $6::timestamptz, $7::timestamptz, $8::timestamptz, $9::timestamptz, $10, $11, $12, $13, $14::jsonb, $15::jsonb, $16, $17, $18, $19, $20)
ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, trace_id = COALESCE(incidents.trace_id, EXCLUDED.trace_id),
  downtime_ms = EXCLUDED.downtime_ms, downtime_avoided_ms = EXCLUDED.downtime_avoided_ms, downtime_cost = EXCLUDED.downtime_cost, cost_avoided = EXCLUDED.cost_avoided, updated_at = EXCLUDED.updated_at, last_event_at = EXCLUDED.last_event_at,
  resolved_at = EXCLUDED.resolved_at, mttr_ms = EXCLUDED.mttr_ms, event_count = EXCLUDED.event_count, run_count = EXCLUDED.run_count,
  reopened = EXCLUDED.reopened, error_logs = EXCLUDED.error_logs, metrics = EXCLUDED.metrics`;

const UPSERT_RUN = `
INSERT INTO runs (id, incident_id, playbook, target, event_id, signature, status, reason, started_at, ended_at, duration_ms, trace_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::timestamptz, $10::timestamptz, $11, $12)
ON CONFLICT (id) DO UPDATE SET trace_id = COALESCE(EXCLUDED.trace_id, runs.trace_id), incident_id = COALESCE(EXCLUDED.incident_id, runs.incident_id), playbook = EXCLUDED.playbook,
  target = EXCLUDED.target, event_id = COALESCE(EXCLUDED.event_id, runs.event_id), signature = COALESCE(EXCLUDED.signature, runs.signature),
  status = EXCLUDED.status, reason = EXCLUDED.reason, started_at = LEAST(EXCLUDED.started_at, runs.started_at), ended_at = EXCLUDED.ended_at,
  duration_ms = EXCLUDED.duration_ms`;

/** Recomputes one runbook row from the ended runs it summarises (idempotent). */
const REFRESH_RUNBOOK = `
INSERT INTO runbook (signature, playbook, runs, resolved, failed, stopped, last_status, last_run_id, last_at, avg_resolve_ms)
SELECT $1, $2, count(*), count(*) FILTER (WHERE status = 'resolved'), count(*) FILTER (WHERE status = 'failed'),
       count(*) FILTER (WHERE status = 'stopped'), (array_agg(status ORDER BY ended_at DESC))[1],
       (array_agg(id ORDER BY ended_at DESC))[1], max(ended_at), avg(duration_ms) FILTER (WHERE status = 'resolved')
FROM runs
WHERE playbook = $2 AND (signature = $1 OR ($1 = 'unknown' AND signature IS NULL)) AND status IN ${ENDED} AND ended_at IS NOT NULL
HAVING count(*) > 0
ON CONFLICT (signature, playbook) DO UPDATE SET runs = EXCLUDED.runs, resolved = EXCLUDED.resolved, failed = EXCLUDED.failed,
  stopped = EXCLUDED.stopped, last_status = EXCLUDED.last_status, last_run_id = EXCLUDED.last_run_id, last_at = EXCLUDED.last_at,
  avg_resolve_ms = EXCLUDED.avg_resolve_ms`;

/**
 * One statement (one round trip, one commit): make sure the run row exists (a step may be recorded
 * before its run), link the step's action calls, and upsert the step.
 */
const UPSERT_STEP = `
WITH run AS (
  INSERT INTO runs (id, playbook, target, status, started_at) VALUES ($1, 'unknown', 'unknown', 'running', COALESCE($16::timestamptz, $17::timestamptz))
  ON CONFLICT (id) DO NOTHING
), linked AS (
  UPDATE actions SET step_seq = $2 WHERE id = ANY($18::text[])
)
INSERT INTO steps (run_id, seq, step, action, params, status, error, exit_code, stdout, stderr, result, duration_ms, attempt,
                   health_before, health_after, started_at, ended_at)
VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, $10, $11::jsonb, $12, $13, $14::jsonb, $15::jsonb, $16::timestamptz, $17::timestamptz)
ON CONFLICT (run_id, seq) DO UPDATE SET step = EXCLUDED.step, action = EXCLUDED.action, params = EXCLUDED.params,
  status = EXCLUDED.status, error = EXCLUDED.error, exit_code = EXCLUDED.exit_code, stdout = EXCLUDED.stdout, stderr = EXCLUDED.stderr,
  result = EXCLUDED.result, duration_ms = EXCLUDED.duration_ms, attempt = EXCLUDED.attempt, health_before = EXCLUDED.health_before,
  health_after = EXCLUDED.health_after, started_at = EXCLUDED.started_at, ended_at = EXCLUDED.ended_at`;

const UPSERT_ACTION = `
INSERT INTO actions (id, run_id, step_seq, action, target, params, status, requested_at, completed_at, duration_ms, exit_code,
                     stdout, stderr, error, result, command, health_before_pct, health_after_pct)
VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8::timestamptz, $9::timestamptz, $10, $11, $12, $13, $14, $15::jsonb, $16, $17, $18)
ON CONFLICT (id) DO UPDATE SET run_id = COALESCE(EXCLUDED.run_id, actions.run_id), step_seq = COALESCE(EXCLUDED.step_seq, actions.step_seq),
  status = EXCLUDED.status, completed_at = EXCLUDED.completed_at, duration_ms = EXCLUDED.duration_ms, exit_code = EXCLUDED.exit_code,
  stdout = EXCLUDED.stdout, stderr = EXCLUDED.stderr, error = EXCLUDED.error, result = EXCLUDED.result,
  command = COALESCE(EXCLUDED.command, actions.command), health_before_pct = COALESCE(EXCLUDED.health_before_pct, actions.health_before_pct),
  health_after_pct = COALESCE(EXCLUDED.health_after_pct, actions.health_after_pct)`;

/** The one Store implementation, over either adapter: the SQL is the same for PostgreSQL and PGlite. */
export class SqlStore implements Store {
  constructor(readonly client: SqlClient) {}

  get kind() {
    return this.client.kind;
  }
  get location() {
    return this.client.location;
  }
  get schema() {
    return this.client.schema;
  }

  async saveIncident(i: IncidentRecord): Promise<void> {
    await this.client.query(UPSERT_INCIDENT, [
      i.id, i.target, i.family, i.signature, i.status, ts(i.openedAt), ts(i.updatedAt), ts(i.lastEventAt), ts(i.resolvedAt),
      i.mttrMs, i.eventCount, i.runCount, i.reopened, json(i.errorLogs), json(i.metrics),
      i.traceId, i.downtimeMs, i.downtimeAvoidedMs, i.downtimeCost, i.costAvoided,
    ]);
  }

  async saveRun(r: RunRecord): Promise<void> {
    const params = [r.id, r.incidentId, r.playbook, r.target, r.eventId, r.signature, r.status, r.reason, ts(r.startedAt), ts(r.endedAt), r.durationMs, r.traceId];
    if (!r.endedAt) {
      await this.client.query(UPSERT_RUN, params);
      return;
    }
    await this.client.transaction(async (tx) => {
      await tx.query(UPSERT_RUN, params);
      await tx.query(REFRESH_RUNBOOK, [r.signature ?? 'unknown', r.playbook]);
    });
  }

  async saveStep(s: StepRecord, actionIds: readonly string[] = []): Promise<void> {
    const params = [
      s.runId, s.seq, s.step, s.action, json(s.params), s.status, s.error, s.exitCode, bounded(s.stdout), bounded(s.stderr), json(s.result),
      s.durationMs, s.attempts, json(s.healthBefore), json(s.healthAfter), ts(s.startedAt), ts(s.endedAt),
    ];
    await this.client.query(UPSERT_STEP, [...params, [...actionIds]]);
  }

  async saveAction(a: ActionRecord): Promise<void> {
    await this.client.query(UPSERT_ACTION, [
      a.id, a.runId, a.stepSeq, a.action, a.target, json(a.params), a.status, ts(a.requestedAt), ts(a.completedAt), a.durationMs, a.exitCode,
      bounded(a.stdout), bounded(a.stderr), a.error, json(a.result), a.command ?? null, a.healthBeforePct ?? null, a.healthAfterPct ?? null,
    ]);
  }

  async saveApproval(a: ApprovalRecord): Promise<void> {
    await this.client.query(
      `INSERT INTO approvals (run_id, step, decision, decided_by, reason, decided_at) VALUES ($1, $2, $3, $4, $5, $6::timestamptz)`,
      [a.runId, a.step, a.decision, a.decidedBy, a.reason, ts(a.decidedAt)],
    );
  }

  async saveDiagnosis(d: DiagnosisRecord): Promise<void> {
    await this.client.query(
      `INSERT INTO diagnoses (id, incident_id, run_id, step, signature, target, provider, model, latency_ms, tokens, cost_usd, answer, decision, calls, reason, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, $13::jsonb, $14::jsonb, $15, $16::timestamptz)
       ON CONFLICT (id) DO UPDATE SET incident_id = COALESCE(EXCLUDED.incident_id, diagnoses.incident_id), decision = EXCLUDED.decision`,
      [d.id, d.incidentId, d.runId, d.step, d.signature, d.target, d.provider, d.model, d.latencyMs, Math.round(d.tokens), d.costUsd, json(d.answer), json(d.decision), json(d.calls), d.reason, ts(d.createdAt)],
    );
  }

  async listDiagnoses(opts: { incidentId?: string; limit?: number } = {}): Promise<DiagnosisRecord[]> {
    const { rows } = await this.client.query(`SELECT * FROM diagnoses WHERE ($2::text IS NULL OR incident_id = $2) ORDER BY created_at DESC LIMIT $1`, [opts.limit ?? 50, opts.incidentId ?? null]);
    return rows.map(toDiagnosis);
  }

  async addBlacklistEntry(e: Omit<BlacklistEntry, 'id' | 'liftedAt'>): Promise<number> {
    const { rows } = await this.client.query<{ id: unknown }>(
      `INSERT INTO blacklist (actor, reason, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4::timestamptz, $5::timestamptz) RETURNING id`,
      [e.actor, e.reason, e.createdBy, ts(e.createdAt), ts(e.expiresAt)],
    );
    return Number(rows[0]!.id);
  }

  async liftBlacklistEntry(id: number, at: Date): Promise<void> {
    await this.client.query(`UPDATE blacklist SET lifted_at = $2::timestamptz WHERE id = $1 AND lifted_at IS NULL`, [id, ts(at)]);
  }

  async activeBlacklist(now = new Date()): Promise<BlacklistEntry[]> {
    const { rows } = await this.client.query(
      `SELECT * FROM blacklist WHERE lifted_at IS NULL AND (expires_at IS NULL OR expires_at > $1::timestamptz) ORDER BY created_at`,
      [ts(now)],
    );
    return rows.map(toBlacklist);
  }

  async listIncidents(opts: { limit?: number; status?: IncidentStatus; target?: string } = {}): Promise<IncidentRecord[]> {
    const { rows } = await this.client.query(
      `SELECT * FROM incidents WHERE ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR target = $3)
       ORDER BY opened_at DESC LIMIT $1`,
      [opts.limit ?? 50, opts.status ?? null, opts.target ?? null],
    );
    return rows.map(toIncident);
  }

  async getIncident(id: string): Promise<IncidentRecord | null> {
    const { rows } = await this.client.query(`SELECT * FROM incidents WHERE id = $1`, [id]);
    return rows[0] ? toIncident(rows[0]) : null;
  }

  async activeIncidents(): Promise<IncidentRecord[]> {
    const { rows } = await this.client.query(`SELECT * FROM incidents WHERE status IN ('open', 'remediating') ORDER BY last_event_at DESC LIMIT 1000`);
    return rows.map(toIncident);
  }

  async listRuns(opts: { limit?: number; incidentId?: string } = {}): Promise<RunSummary[]> {
    const { rows } = await this.client.query(
      `SELECT r.*, (SELECT count(*) FROM steps s WHERE s.run_id = r.id)::int AS step_count
       FROM runs r WHERE ($2::text IS NULL OR r.incident_id = $2) ORDER BY r.started_at DESC LIMIT $1`,
      [opts.limit ?? 50, opts.incidentId ?? null],
    );
    return rows.map(toRunSummary);
  }

  async getRun(id: string): Promise<RunDetail | null> {
    const found = await this.client.query(`SELECT * FROM runs WHERE id = $1 OR id LIKE $2 ORDER BY (id = $1) DESC LIMIT 2`, [id, `${id.replace(/[%_\\]/g, '')}%`]);
    const exact = found.rows.find((r) => r.id === id);
    if (!exact && found.rows.length > 1) throw new StoreError('STORE_AMBIGUOUS_ID', `run id prefix "${id}" matches several runs; give more characters`);
    const row = exact ?? found.rows[0];
    if (!row) return null;
    const run = toRun(row);
    const q: SqlQueryable = this.client;
    const [steps, actions, approvals, incident] = await Promise.all([
      q.query(`SELECT * FROM steps WHERE run_id = $1 ORDER BY seq`, [run.id]),
      q.query(`SELECT * FROM actions WHERE run_id = $1 ORDER BY requested_at`, [run.id]),
      q.query(`SELECT * FROM approvals WHERE run_id = $1 ORDER BY decided_at`, [run.id]),
      run.incidentId ? this.getIncident(run.incidentId) : Promise.resolve(null),
    ]);
    return { run, incident, steps: steps.rows.map(toStep), actions: actions.rows.map(toAction), approvals: approvals.rows.map(toApproval) };
  }

  async lastStepSeq(runId: string): Promise<number> {
    const { rows } = await this.client.query<{ n: unknown }>(`SELECT COALESCE(max(seq), 0)::int AS n FROM steps WHERE run_id = $1`, [runId]);
    return Number(rows[0]?.n ?? 0);
  }

  async runbook(opts: { signature?: string } = {}): Promise<RunbookEntry[]> {
    const { rows } = await this.client.query(
      `SELECT * FROM runbook WHERE ($1::text IS NULL OR signature = $1) ORDER BY signature, resolved DESC, last_at DESC`,
      [opts.signature ?? null],
    );
    return rows.map(toRunbook);
  }

  async preferredPlaybook(signature: string): Promise<string | null> {
    const { rows } = await this.client.query<{ playbook: string }>(
      `SELECT playbook FROM runbook WHERE signature = $1 AND resolved > 0
       ORDER BY resolved::float8 / runs DESC, last_status = 'resolved' DESC, last_at DESC LIMIT 1`,
      [signature],
    );
    return rows[0]?.playbook ?? null;
  }

  async ping(): Promise<void> {
    await this.client.query('SELECT 1 AS ok');
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
