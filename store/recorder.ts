import type { Logger } from 'pino';
import { z } from 'zod';
import {
  ActionRequestData,
  ActionResultData,
  RunPhaseData,
  activeTraceId,
  runIdsByPrefix,
  subjects,
  type BusClient,
  type Envelope,
  type StoreDegradedData,
  type StoreRecoveredData,
} from '../bus/index.js';
import { IncidentTracker, type TargetImpact } from './incident-tracker.js';
import { RunTracker, type TrackedStep } from './run-tracker.js';
import type { DiagnosisRecord, IncidentRecord, RunRecord, Store } from './store.js';
import { WriteQueue, type WriteQueueStats } from './write-queue.js';

/** `approvals.<runId>` as the recorder reads it: a decision, who made it and why (bare JSON accepted). */
export const RecordedApprovalData = z
  .object({
    decision: z.enum(['approve', 'reject', 'timeout']).optional(),
    approved: z.boolean().optional(),
    step: z.string().optional(),
    reason: z.string().optional(),
    by: z.string().optional(),
  })
  .passthrough();

export interface RecorderOptions {
  /** A bus client logged in with the `recorder` role. */
  bus: BusClient;
  store: Store;
  log: Logger;
  /** Events for the same target and family this close together form one incident (default 5 min). */
  incidentWindowMs?: number;
  /** Most records kept in memory while the database is away (default 10,000). */
  queueCapacity?: number;
  /** Event families that never form incidents (default: store, playbook, chaos, handler). */
  ignoreFamilies?: readonly string[];
  /** Event kinds that report a recovery or follow a fix: they join an incident but never open one (default: restored, recovered, resolved, cleared, rapid_check). */
  recoveryKinds?: readonly string[];
  /** Each target's downtime cost per minute and manual MTTR (targets.yaml `impact`). */
  impact?: (target: string) => TargetImpact | undefined;
}

export interface RecorderStats extends WriteQueueStats {
  incidents: number;
  runs: number;
  steps: number;
}

/**
 * Records what Homeostat sees and does — incidents, runs, steps, action calls, approvals and the
 * runbook — from the bus into the store. It never slows remediation down: it is only a listener,
 * and its writes go through a WriteQueue, so while PostgreSQL is away records wait in memory
 * (bounded, drops counted), `events.store.degraded` is published, and when the database returns
 * the records are written and `events.store.recovered` follows.
 */
export class Recorder {
  readonly #bus: BusClient;
  readonly #store: Store;
  readonly #log: Logger;
  readonly #queue: WriteQueue;
  readonly #incidents: IncidentTracker;
  readonly #runs = new RunTracker();
  readonly #ignore: ReadonlySet<string>;
  readonly #counts = { runs: 0, steps: 0 };

  constructor(opts: RecorderOptions) {
    this.#bus = opts.bus;
    this.#store = opts.store;
    this.#log = opts.log;
    this.#ignore = new Set(opts.ignoreFamilies ?? ['store', 'playbook', 'chaos', 'handler']);
    this.#incidents = new IncidentTracker({
      windowMs: opts.incidentWindowMs ?? 5 * 60_000,
      recoveryKinds: new Set(opts.recoveryKinds ?? ['restored', 'recovered', 'resolved', 'cleared', 'rapid_check']),
      impact: opts.impact,
    });
    const where = { store: opts.store.kind, location: opts.store.location };
    this.#queue = new WriteQueue({
      log: opts.log,
      capacity: opts.queueCapacity,
      onDegraded: (i) => {
        this.#bus.publish<StoreDegradedData>(subjects.event('store', 'degraded'), 'store.degraded', {
          ...where, error: i.error.message, queued: i.queued, since: i.since.toISOString(),
        });
      },
      onRecovered: (i) => {
        this.#bus.publish<StoreRecoveredData>(subjects.event('store', 'recovered'), 'store.recovered', { ...where, ...i });
      },
    });
  }

  /** Resumes incident correlation from the store (best effort) and subscribes. */
  async start(): Promise<void> {
    try {
      this.#incidents.load(await this.#store.activeIncidents());
    } catch (e) {
      this.#log.warn({ err: (e as Error).message }, 'could not read active incidents; correlation starts afresh');
    }
    this.#bus.subscribe(subjects.eventsAll, z.unknown(), (env, msg) => this.#onEvent(env, msg.subject));
    this.#bus.subscribe(subjects.runsAll, RunPhaseData, (env, msg) => this.#onRunPhase(env, msg.subject));
    // mutating actions only: probes go by request/reply (`actions.<family>.<verb>.probe`); a verify step's polls are its step row (attempts, last result)
    this.#bus.subscribe(subjects.actionsDurable, ActionRequestData, (env) => this.#onActionRequest(env));
    this.#bus.subscribe('results.>', ActionResultData, (env) => this.#onActionResult(env));
    this.#bus.subscribe('approvals.>', RecordedApprovalData, (env, msg) => this.#onApproval(env, msg.subject), { acceptBare: true });
    await this.#bus.flush();
  }

  stats(): RecorderStats {
    return { ...this.#queue.stats(), incidents: this.#incidents.opened, ...this.#counts };
  }

  /** Resolves when every record received so far is written. */
  idle(): Promise<void> {
    return this.#queue.idle();
  }

  /** Writes what is queued (waiting at most `graceMs` for the database), then stops. */
  async stop(graceMs = 3000): Promise<void> {
    const left = await Promise.race([this.#queue.idle().then(() => 0), new Promise<number>((r) => setTimeout(() => r(-1), graceMs).unref())]);
    const abandoned = this.#queue.stop();
    if (left < 0 && abandoned) this.#log.warn({ abandoned }, 'recorder stopped with records not written');
  }

  #onEvent(env: Envelope<unknown>, subject: string): void {
    const family = subject.split('.')[1] ?? '';
    if (this.#ignore.has(family)) return;
    const incident = this.#incidents.onEvent(env, subject, activeTraceId());
    if (incident) this.#saveIncident(incident);
  }

  #onRunPhase(env: Envelope<RunPhaseData>, subject: string): void {
    const d = env.data;
    const phase = subject.split('.')[2] ?? '';
    const at = new Date(env.time);
    const { run, created, resumed, ended } = this.#runs.onPhase(phase, d, env, () => {
      const incident = this.#incidents.onRunStarted({ target: d.target ?? env.target ?? '_global', eventId: d.eventId ?? null, playbook: d.playbook, traceId: d.traceId }, at);
      this.#saveIncident(incident);
      return { incidentId: incident.id, signature: this.#incidents.eventInfo(d.eventId)?.subject ?? incident.signature };
    });
    if (created) this.#counts.runs++;
    this.#saveRun(run);
    if (resumed) {
      // Written in order before this run's next steps: they are numbered after those already stored.
      this.#queue.enqueue(`resume:${run.id}`, 'resume', async () => this.#runs.rebase(run.id, await this.#store.lastStepSeq(run.id)));
    }
    if (phase === 'step') {
      const s = this.#runs.onStep(d, env);
      if (s) {
        this.#counts.steps++;
        this.#saveStep(s.step);
        if (s.previous) this.#saveStep(s.previous);
        const step = s.step.record;
        if (step.action === 'diagnose' && step.status !== 'skipped') this.#saveDiagnosis(run, step.step, step.result ?? {}, env.time);
        if (step.status !== 'ok' && run.incidentId) {
          const noted = this.#incidents.note(run.incidentId, { time: env.time, subject, message: `step ${step.step} ${step.status}: ${step.error ?? ''}`.trim() });
          if (noted) this.#saveIncident(noted);
        }
      }
    }
    if (ended && run.incidentId && run.status !== 'running' && run.status !== 'awaiting_approval') {
      const incident = this.#incidents.onRunEnded(run.incidentId, run.status, at, run.reason, subject);
      if (incident) this.#saveIncident(incident);
    }
  }

  #onActionRequest(env: Envelope<ActionRequestData>): void {
    const action = this.#runs.onActionRequest(env.data, env);
    this.#queue.enqueue(`action:${action.id}`, 'action', () => this.#store.saveAction(action));
  }

  #onActionResult(env: Envelope<ActionResultData>): void {
    const { action, step } = this.#runs.onActionResult(env.data, env);
    if (action) this.#queue.enqueue(`action:${action.id}`, 'action', () => this.#store.saveAction(action));
    if (step) this.#saveStep(step);
  }

  #onApproval(env: Envelope<z.infer<typeof RecordedApprovalData>>, subject: string): void {
    const d = env.data;
    const token = subject.split('.')[1] ?? '';
    // an operator may approve by a prefix of the run id (the engine takes a unique one): record the whole id
    const named = runIdsByPrefix(token, this.#runs.ids());
    const runId = named.length === 1 ? named[0]! : token;
    const approval = {
      runId,
      step: d.step ?? null,
      decision: d.decision ?? (d.approved === false ? 'reject' : 'approve'),
      decidedBy: d.by ?? env.source,
      reason: d.reason ?? null,
      decidedAt: new Date(env.time),
    } as const;
    this.#queue.enqueue(`approval:${env.id}`, 'approval', () => this.#store.saveApproval(approval));
  }

  /** A `diagnose` step's outcome, as its own record of the incident (provider, tokens, cost, answer, decision, calls). */
  #saveDiagnosis(run: RunRecord, step: string, r: Record<string, unknown>, time: string): void {
    const decision = (r.decision as Record<string, unknown> | undefined) ?? null;
    const d: DiagnosisRecord = {
      id: `${run.id}:${step}`, incidentId: run.incidentId, runId: run.id, step, signature: run.signature, target: run.target,
      provider: typeof r.provider === 'string' ? r.provider : null, model: typeof r.model === 'string' ? r.model : null,
      latencyMs: typeof r.latencyMs === 'number' ? r.latencyMs : null, tokens: Number(r.tokens ?? 0), costUsd: Number(r.costUsd ?? 0),
      answer: (r.diagnosis as Record<string, unknown> | undefined) ?? null, decision, calls: Array.isArray(r.calls) ? (r.calls as Record<string, unknown>[]) : [],
      reason: typeof decision?.reason === 'string' && !r.diagnosis ? decision.reason : null, createdAt: new Date(time),
    };
    this.#queue.enqueue(`diagnosis:${d.id}`, 'diagnosis', () => this.#store.saveDiagnosis(d));
  }

  #saveIncident(incident: IncidentRecord): void {
    this.#queue.enqueue(`incident:${incident.id}`, 'incident', () => this.#store.saveIncident({ ...incident }));
  }

  #saveStep({ record, actionIds }: TrackedStep): void {
    this.#queue.enqueue(`step:${record.runId}:${record.seq}`, 'step', () => this.#store.saveStep({ ...record }, actionIds));
  }

  #saveRun(run: RunRecord): void {
    this.#queue.enqueue(`run:${run.id}`, 'run', () => this.#store.saveRun({ ...run }));
  }
}
