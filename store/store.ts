/**
 * The store contract: what Homeostat records about incidents, runs, steps, approvals, the
 * blacklist and the runbook, and the queries the CLI and the engine read them back with.
 */

export const INCIDENT_STATUSES = ['open', 'remediating', 'resolved', 'failed', 'stopped'] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];
export const RUN_STATUSES = ['running', 'awaiting_approval', 'resolved', 'failed', 'stopped'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** stdout/stderr kept per step or action: the last this many characters. */
export const MAX_OUTPUT_CHARS = 8192;

/** One line of an incident's log: an event that joined it, or a step that failed. */
export interface IncidentLogEntry {
  time: string;
  subject: string;
  message: string;
}

/** Related events (same target and family within a window) and what was done about them. */
export interface IncidentRecord {
  id: string;
  target: string;
  family: string;
  /** Subject of the event that opened the incident, e.g. `events.heartbeat.missed`. */
  signature: string;
  status: IncidentStatus;
  openedAt: Date;
  updatedAt: Date;
  lastEventAt: Date;
  resolvedAt: Date | null;
  /** Opened → resolved, in ms; null until resolved. */
  mttrMs: number | null;
  eventCount: number;
  runCount: number;
  /** How often a closed incident was reopened by a new event within the window. */
  reopened: number;
  errorLogs: IncidentLogEntry[];
  /** Numbers from the latest event's data (the metrics at the time). */
  metrics: Record<string, unknown>;
  /** The OpenTelemetry trace of the detection that opened it (or of its first run), when tracing is on. */
  traceId: string | null;
  /** Detection → recovered, in ms; null until recovered. */
  downtimeMs: number | null;
  /** The target's configured manual MTTR minus the downtime (never below 0); null without one. */
  downtimeAvoidedMs: number | null;
  /** Downtime × the target's cost per minute; null without a cost. */
  downtimeCost: number | null;
  /** Downtime avoided × the target's cost per minute (the "money saved"); null without a cost and a manual MTTR. */
  costAvoided: number | null;
}

export interface RunRecord {
  id: string;
  incidentId: string | null;
  playbook: string;
  target: string;
  eventId: string | null;
  /** The triggering event's subject: the runbook key. */
  signature: string | null;
  status: RunStatus;
  reason: string | null;
  startedAt: Date;
  endedAt: Date | null;
  durationMs: number | null;
  /** The run's OpenTelemetry trace, when tracing is on. */
  traceId: string | null;
}

export interface RunSummary extends RunRecord {
  stepCount: number;
}

export interface StepRecord {
  runId: string;
  /** 1, 2, … in the order the steps finished. */
  seq: number;
  step: string;
  action: string | null;
  params: Record<string, unknown> | null;
  status: string;
  error: string | null;
  exitCode: number | null;
  stdout: string | null;
  stderr: string | null;
  result: Record<string, unknown> | null;
  durationMs: number | null;
  /** Action calls the step made (retries, probe polls): `detail.attempts` of `runs.<id>.step`; column `attempt`, so rows recorded before read the same. */
  attempts: number;
  healthBefore: Record<string, unknown> | null;
  healthAfter: Record<string, unknown> | null;
  startedAt: Date | null;
  endedAt: Date;
}

/** One action request and its result (`actions.*` → `results.<actionId>`). */
export interface ActionRecord {
  id: string;
  runId: string | null;
  stepSeq: number | null;
  action: string;
  target: string | null;
  params: Record<string, unknown>;
  status: string;
  requestedAt: Date;
  completedAt: Date | null;
  durationMs: number | null;
  exitCode: number | null;
  stdout: string | null;
  stderr: string | null;
  error: string | null;
  result: Record<string, unknown> | null;
  /** The command as an operator would read it (e.g. `redis-cli -h … FLUSHALL`), as the handler reported it. */
  command: string | null;
  /** The target's health % (0–100) before and after the call, when the handler measured it. */
  healthBeforePct: number | null;
  healthAfterPct: number | null;
}

export interface ApprovalRecord {
  runId: string;
  step: string | null;
  decision: 'approve' | 'reject' | 'timeout';
  decidedBy: string;
  reason: string | null;
  decidedAt: Date;
}

export interface BlacklistEntry {
  id: number;
  actor: string;
  reason: string;
  createdBy: string;
  createdAt: Date;
  expiresAt: Date | null;
  liftedAt: Date | null;
}

/** What ran for one event signature and how it ended. */
export interface RunbookEntry {
  signature: string;
  playbook: string;
  runs: number;
  resolved: number;
  failed: number;
  stopped: number;
  lastStatus: string;
  lastRunId: string;
  lastAt: Date;
  avgResolveMs: number | null;
}

/** One LLM diagnosis of an incident and what was done with it (see diagnosis/). */
export interface DiagnosisRecord {
  id: string;
  incidentId: string | null;
  /** The run whose `diagnose` step asked; null for `homeostat diagnose`. */
  runId: string | null;
  step: string | null;
  signature: string | null;
  target: string | null;
  /** The provider and model that gave the accepted answer; null when none did. */
  provider: string | null;
  model: string | null;
  latencyMs: number | null;
  tokens: number;
  costUsd: number;
  /** The parsed answer `{ root_cause, confidence, playbook, justification }`; null when none was usable. */
  answer: Record<string, unknown> | null;
  /** What was done with it: `{ kind: stop | approval | auto | none, playbook?, reason }`. */
  decision: Record<string, unknown> | null;
  /** Every provider call: provider, model, attempt, latency, tokens, cost, outcome, reason. */
  calls: Record<string, unknown>[];
  /** Why there is no answer. */
  reason: string | null;
  createdAt: Date;
}

export interface RunDetail {
  run: RunRecord;
  incident: IncidentRecord | null;
  steps: StepRecord[];
  actions: ActionRecord[];
  approvals: ApprovalRecord[];
}

/**
 * Homeostat's history. Writes are idempotent upserts keyed by id, so a write retried after an
 * outage never records anything twice. Adapters: `pg` (DATABASE_URL) and embedded (PGlite).
 */
export interface Store {
  readonly kind: 'pg' | 'embedded';
  /** Where the data lives, safe to print. */
  readonly location: string;
  readonly schema: string;

  saveIncident(incident: IncidentRecord): Promise<void>;
  /** Upserts a run; when it has ended, its runbook row is recomputed in the same transaction. */
  saveRun(run: RunRecord): Promise<void>;
  /** Upserts a step and links the action calls it made. */
  saveStep(step: StepRecord, actionIds?: readonly string[]): Promise<void>;
  saveAction(action: ActionRecord): Promise<void>;
  saveApproval(approval: ApprovalRecord): Promise<void>;
  /** Upserts a diagnosis by id. */
  saveDiagnosis(diagnosis: DiagnosisRecord): Promise<void>;
  /** Diagnoses, newest first, of one incident (or all). */
  listDiagnoses(opts?: { incidentId?: string; limit?: number }): Promise<DiagnosisRecord[]>;
  addBlacklistEntry(entry: Omit<BlacklistEntry, 'id' | 'liftedAt'>): Promise<number>;
  liftBlacklistEntry(id: number, at: Date): Promise<void>;
  /** Entries neither lifted nor expired at `now`. */
  activeBlacklist(now?: Date): Promise<BlacklistEntry[]>;

  listIncidents(opts?: { limit?: number; status?: IncidentStatus; target?: string }): Promise<IncidentRecord[]>;
  getIncident(id: string): Promise<IncidentRecord | null>;
  /** Incidents still open or remediating, newest first (the recorder resumes correlation from them). */
  activeIncidents(): Promise<IncidentRecord[]>;
  /** The most recent runs, newest first. */
  listRuns(opts?: { limit?: number; incidentId?: string }): Promise<RunSummary[]>;
  /** A run with its steps, action calls, approvals and incident; accepts a unique id prefix. */
  getRun(id: string): Promise<RunDetail | null>;
  /** The highest step number recorded for a run (0 when none). */
  lastStepSeq(runId: string): Promise<number>;
  runbook(opts?: { signature?: string }): Promise<RunbookEntry[]>;
  /** The playbook that resolved `signature` most reliably (then most recently); null when none ever did. */
  preferredPlaybook(signature: string): Promise<string | null>;

  /** Resolves when the database answers. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
