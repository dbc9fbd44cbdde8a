import { MAX_OUTPUT_CHARS, type ActionRecord, type DiagnosisRecord, type ApprovalRecord, type BlacklistEntry, type IncidentRecord, type IncidentStatus, type RunbookEntry, type RunRecord, type RunStatus, type RunSummary, type StepRecord } from './store.js';

/** Converts between table rows (snake_case, as pg and PGlite return them) and the store's records. */

type Row = Record<string, unknown>;

export const ts = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);
export const json = (v: unknown): string | null => (v === null || v === undefined ? null : JSON.stringify(v));
export const bounded = (s: string | null | undefined): string | null =>
  s === null || s === undefined ? null : s.length > MAX_OUTPUT_CHARS ? s.slice(-MAX_OUTPUT_CHARS) : s;

const text = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'bigint' ? v.toString() : JSON.stringify(v));
const date = (v: unknown): Date => (v instanceof Date ? v : new Date(text(v)));
const dateOrNull = (v: unknown): Date | null => (v === null || v === undefined ? null : date(v));
const num = (v: unknown): number => Number(v);
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const str = text;
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : text(v));
const obj = (v: unknown): Record<string, unknown> | null => {
  if (v === null || v === undefined) return null;
  const o: unknown = typeof v === 'string' ? JSON.parse(v) : v;
  return o as Record<string, unknown>;
};

export function toIncident(r: Row): IncidentRecord {
  return {
    id: str(r.id),
    target: str(r.target),
    family: str(r.family),
    signature: str(r.signature),
    status: str(r.status) as IncidentStatus,
    openedAt: date(r.opened_at),
    updatedAt: date(r.updated_at),
    lastEventAt: date(r.last_event_at),
    resolvedAt: dateOrNull(r.resolved_at),
    mttrMs: numOrNull(r.mttr_ms),
    eventCount: num(r.event_count),
    runCount: num(r.run_count),
    reopened: num(r.reopened ?? 0),
    errorLogs: (obj(r.error_logs) ?? []) as unknown as IncidentRecord['errorLogs'],
    metrics: obj(r.metrics) ?? {},
    traceId: strOrNull(r.trace_id),
    downtimeMs: numOrNull(r.downtime_ms),
    downtimeAvoidedMs: numOrNull(r.downtime_avoided_ms),
    downtimeCost: numOrNull(r.downtime_cost),
    costAvoided: numOrNull(r.cost_avoided),
  };
}

export function toRun(r: Row): RunRecord {
  return {
    id: str(r.id),
    incidentId: strOrNull(r.incident_id),
    playbook: str(r.playbook),
    target: str(r.target),
    eventId: strOrNull(r.event_id),
    signature: strOrNull(r.signature),
    status: str(r.status) as RunStatus,
    reason: strOrNull(r.reason),
    startedAt: date(r.started_at),
    endedAt: dateOrNull(r.ended_at),
    durationMs: numOrNull(r.duration_ms),
    traceId: strOrNull(r.trace_id),
  };
}

export function toRunSummary(r: Row): RunSummary {
  return { ...toRun(r), stepCount: num(r.step_count ?? 0) };
}

export function toStep(r: Row): StepRecord {
  return {
    runId: str(r.run_id),
    seq: num(r.seq),
    step: str(r.step),
    action: strOrNull(r.action),
    params: obj(r.params),
    status: str(r.status),
    error: strOrNull(r.error),
    exitCode: numOrNull(r.exit_code),
    stdout: strOrNull(r.stdout),
    stderr: strOrNull(r.stderr),
    result: obj(r.result),
    durationMs: numOrNull(r.duration_ms),
    attempts: num(r.attempt),
    healthBefore: obj(r.health_before),
    healthAfter: obj(r.health_after),
    startedAt: dateOrNull(r.started_at),
    endedAt: date(r.ended_at),
  };
}

export function toAction(r: Row): ActionRecord {
  return {
    id: str(r.id),
    runId: strOrNull(r.run_id),
    stepSeq: numOrNull(r.step_seq),
    action: str(r.action),
    target: strOrNull(r.target),
    params: obj(r.params) ?? {},
    status: str(r.status),
    requestedAt: date(r.requested_at),
    completedAt: dateOrNull(r.completed_at),
    durationMs: numOrNull(r.duration_ms),
    exitCode: numOrNull(r.exit_code),
    stdout: strOrNull(r.stdout),
    stderr: strOrNull(r.stderr),
    error: strOrNull(r.error),
    result: obj(r.result),
    command: strOrNull(r.command),
    healthBeforePct: numOrNull(r.health_before_pct),
    healthAfterPct: numOrNull(r.health_after_pct),
  };
}

export function toApproval(r: Row): ApprovalRecord {
  return {
    runId: str(r.run_id),
    step: strOrNull(r.step),
    decision: str(r.decision) as ApprovalRecord['decision'],
    decidedBy: str(r.decided_by),
    reason: strOrNull(r.reason),
    decidedAt: date(r.decided_at),
  };
}

export function toBlacklist(r: Row): BlacklistEntry {
  return {
    id: num(r.id),
    actor: str(r.actor),
    reason: str(r.reason),
    createdBy: str(r.created_by),
    createdAt: date(r.created_at),
    expiresAt: dateOrNull(r.expires_at),
    liftedAt: dateOrNull(r.lifted_at),
  };
}

export function toRunbook(r: Row): RunbookEntry {
  return {
    signature: str(r.signature),
    playbook: str(r.playbook),
    runs: num(r.runs),
    resolved: num(r.resolved),
    failed: num(r.failed),
    stopped: num(r.stopped),
    lastStatus: str(r.last_status),
    lastRunId: str(r.last_run_id),
    lastAt: date(r.last_at),
    avgResolveMs: numOrNull(r.avg_resolve_ms),
  };
}

export function toDiagnosis(r: Row): DiagnosisRecord {
  return {
    id: str(r.id),
    incidentId: strOrNull(r.incident_id),
    runId: strOrNull(r.run_id),
    step: strOrNull(r.step),
    signature: strOrNull(r.signature),
    target: strOrNull(r.target),
    provider: strOrNull(r.provider),
    model: strOrNull(r.model),
    latencyMs: numOrNull(r.latency_ms),
    tokens: num(r.tokens),
    costUsd: num(r.cost_usd),
    answer: obj(r.answer),
    decision: obj(r.decision),
    calls: (obj(r.calls) as unknown as Record<string, unknown>[] | null) ?? [],
    reason: strOrNull(r.reason),
    createdAt: date(r.created_at),
  };
}
