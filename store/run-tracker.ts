import type { ActionRequestData, ActionResultData, Envelope, RunPhaseData } from '../bus/index.js';
import type { ActionRecord, RunRecord, StepRecord } from './store.js';

/** A step and the action calls it made. */
export interface TrackedStep {
  record: StepRecord;
  actionIds: string[];
}
type StepState = TrackedStep;

interface RunState {
  record: RunRecord;
  /** Action calls made since the last step finished: they belong to the next step. */
  pending: string[];
  /** The target's health when the first pending call was made. */
  pendingHealth: Record<string, unknown> | null;
  steps: StepState[];
  /** Steps recorded before this tracker saw the run (the recorder restarted mid-run). */
  seqBase: number;
}

const MAX_RUNS = 2_000;
const MAX_ACTIONS = 20_000;

const isHealth = (r: Record<string, unknown> | null | undefined): r is Record<string, unknown> => typeof r?.healthy === 'boolean';
/**
 * A health answer's health %: `healthPct` (Redis memory), 100 − `usagePct` (PostgreSQL connections);
 * null for answers without a percentage (e.g. target.health's healthy/unhealthy).
 */
export function healthPctOf(h: Record<string, unknown> | null | undefined): number | null {
  if (typeof h?.healthPct === 'number') return h.healthPct;
  if (typeof h?.usagePct === 'number') return Math.round((100 - h.usagePct) * 10) / 10;
  return null;
}
const action0Target = (d: ActionRequestData, env: Envelope<unknown>) => d.target ?? env.target ?? null;
/** The last health % known for the target when the call was made (from an earlier probe of the run). */
const action0Pct = (target: string | null, health: Map<string, Record<string, unknown>>) => (target ? healthPctOf(health.get(target)) : null);
const obj = (v: unknown): Record<string, unknown> | null => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null);

/**
 * Follows runs from `runs.<runId>.<phase>`, `actions.*` and `results.<actionId>`: which action calls
 * made each step, their outputs, and the target's health before and after. Pure in-memory state:
 * the caller writes the records it returns.
 */
export class RunTracker {
  readonly #runs = new Map<string, RunState>();
  readonly #actions = new Map<string, ActionRecord>();
  readonly #stepOf = new Map<string, StepState>();
  readonly #health = new Map<string, Record<string, unknown>>();
  /** Calls made for runs not seen yet (the recorder started mid-run): adopted when the run appears. */
  readonly #orphans = new Map<string, string[]>();

  get(runId: string): RunRecord | undefined {
    return this.#runs.get(runId)?.record;
  }

  /** The ids of the runs followed. */
  ids(): IterableIterator<string> {
    return this.#runs.keys();
  }

  /** Any run phase: creates the run when first seen, and applies `started`, `awaiting_approval` and the endings. */
  /**
   * `resumed` is true when the run is first seen after it started (the recorder restarted
   * mid-run): the caller then looks up the steps already recorded and calls `rebase`.
   */
  onPhase(
    phase: string,
    d: RunPhaseData,
    env: Envelope<unknown>,
    link: () => { incidentId: string | null; signature: string | null },
  ): { run: RunRecord; created: boolean; resumed: boolean; ended: boolean } {
    const at = new Date(env.time);
    let state = this.#runs.get(d.runId);
    const created = !state;
    if (!state) {
      const { incidentId, signature } = link();
      state = {
        record: {
          id: d.runId, incidentId, playbook: d.playbook, target: d.target ?? env.target ?? '_global', eventId: d.eventId ?? null, signature,
          status: 'running', reason: null, startedAt: at, endedAt: null, durationMs: null, traceId: d.traceId ?? null,
        },
        pending: this.#orphans.get(d.runId) ?? [],
        pendingHealth: null,
        steps: [],
        seqBase: 0,
      };
      this.#orphans.delete(d.runId);
      this.#remember(d.runId, state);
    }
    const run = state.record;
    run.traceId ??= d.traceId ?? null;
    let ended = false;
    if (phase === 'awaiting_approval') run.status = 'awaiting_approval';
    else if (phase === 'step' && run.status === 'awaiting_approval') run.status = 'running';
    else if (phase === 'resolved' || phase === 'failed' || phase === 'stopped') {
      ended = run.endedAt === null;
      run.status = phase;
      run.reason = d.reason ?? null;
      run.endedAt = at;
      run.durationMs = d.durationMs ?? at.getTime() - run.startedAt.getTime();
    }
    return { run, created, resumed: created && (phase !== 'started' || d.detail?.resumed === true), ended };
  }

  /** An action request: remembered as a pending call of its run's next step. */
  onActionRequest(d: ActionRequestData, env: Envelope<unknown>): ActionRecord {
    const action: ActionRecord = {
      id: d.actionId, runId: d.runId ?? null, stepSeq: null, action: d.action, target: d.target ?? env.target ?? null, params: d.params,
      status: 'pending', requestedAt: new Date(env.time), completedAt: null, durationMs: null, exitCode: null, stdout: null, stderr: null,
      error: null, result: null, command: null, healthBeforePct: action0Pct(action0Target(d, env), this.#health), healthAfterPct: null,
    };
    this.#actions.set(action.id, action);
    if (this.#actions.size > MAX_ACTIONS) this.#actions.delete(this.#actions.keys().next().value!);
    const state = d.runId ? this.#runs.get(d.runId) : undefined;
    if (state) {
      if (!state.pending.length) state.pendingHealth = action.target ? (this.#health.get(action.target) ?? null) : null;
      state.pending.push(action.id);
    } else if (d.runId) {
      this.#orphans.set(d.runId, [...(this.#orphans.get(d.runId) ?? []), action.id]);
      if (this.#orphans.size > MAX_RUNS) this.#orphans.delete(this.#orphans.keys().next().value!);
    }
    return action;
  }

  /**
   * An action result: completes the call, remembers a health probe's answer for its target, and
   * returns the step to rewrite when the step was already recorded.
   */
  onActionResult(d: ActionResultData, env: Envelope<unknown>): { action: ActionRecord | null; step: TrackedStep | null } {
    const action = this.#actions.get(d.actionId);
    const at = new Date(env.time);
    if (isHealth(d.result)) {
      const target = action?.target ?? env.target;
      if (target) this.#health.set(target, { ...d.result, at: at.toISOString() });
    }
    if (!action) return { action: null, step: null };
    Object.assign(action, {
      status: d.status, completedAt: at, durationMs: d.durationMs, exitCode: d.exitCode ?? null, stdout: d.stdout ?? null, stderr: d.stderr ?? null,
      error: d.error ? `${d.error.code}: ${d.error.message}` : null, result: d.result,
      command: d.command ?? (typeof d.result.command === 'string' ? d.result.command : null),
      healthBeforePct: d.healthBefore ?? action.healthBeforePct, healthAfterPct: d.healthAfter ?? null,
    });
    const step = this.#stepOf.get(action.id);
    if (!step) return { action, step: null };
    this.#fillFromActions(step);
    return { action, step };
  }

  /**
   * `runs.<runId>.step`: the step's pending calls become its attempts. Returns the step, its action
   * ids, and the previous step when this step's health answer completes that step's "health after".
   */
  onStep(d: RunPhaseData, env: Envelope<unknown>): { step: TrackedStep; previous: TrackedStep | null } | null {
    const state = this.#runs.get(d.runId);
    if (!state) return null;
    const at = new Date(env.time);
    const detail = d.detail ?? {};
    const actionIds = state.pending;
    const first = actionIds[0] ? this.#actions.get(actionIds[0]) : undefined;
    const step: StepState = {
      record: {
        runId: d.runId, seq: state.seqBase + state.steps.length + 1, step: d.step ?? `step-${state.seqBase + state.steps.length + 1}`,
        action: detail.action ?? first?.action ?? null,
        params: obj(detail.params) ?? first?.params ?? null, status: d.status ?? 'unknown', error: d.reason ?? null, exitCode: null, stdout: null,
        stderr: null, result: null, durationMs: d.durationMs ?? null,
        attempts: detail.attempts ?? Math.max(1, actionIds.length),
        healthBefore: state.pendingHealth, healthAfter: null,
        startedAt: first?.requestedAt ?? (d.durationMs !== undefined ? new Date(at.getTime() - d.durationMs) : null), endedAt: at,
      },
      actionIds,
    };
    for (const id of actionIds) {
      this.#stepOf.set(id, step);
      const a = this.#actions.get(id);
      if (a) a.stepSeq = step.record.seq;
    }
    state.pending = [];
    state.pendingHealth = null;
    state.steps.push(step);
    // a probe's answer (by request/reply, so no action call recorded) is the step's own last result
    const result = detail.result ?? null;
    if (result && (!actionIds.length || step.record.result === null)) {
      step.record.result = result;
      if (isHealth(result)) {
        step.record.healthAfter ??= result;
        const target = step.record.params?.target ?? env.target;
        if (typeof target === 'string') this.#health.set(target, { ...result, at: at.toISOString() });
      }
    }
    this.#fillFromActions(step);
    const prev = state.steps[state.steps.length - 2];
    let previous: TrackedStep | null = null;
    if (prev && !prev.record.healthAfter && isHealth(step.record.result)) {
      prev.record.healthAfter = step.record.result;
      previous = prev;
    }
    return { step, previous };
  }

  /** Numbers this run's steps after the `recorded` ones already in the store. */
  rebase(runId: string, recorded: number): void {
    const state = this.#runs.get(runId);
    if (!state || recorded <= 0) return;
    const shift = recorded - state.seqBase;
    state.seqBase = recorded;
    for (const st of state.steps) {
      st.record.seq += shift;
      for (const id of st.actionIds) {
        const a = this.#actions.get(id);
        if (a) a.stepSeq = st.record.seq;
      }
    }
  }

  /** Outputs of the step's last completed call; a health probe's answer is the health after. */
  #fillFromActions(step: StepState): void {
    const done = step.actionIds.map((id) => this.#actions.get(id)).filter((a): a is ActionRecord => !!a && a.completedAt !== null);
    const last = done[done.length - 1];
    if (!last) return;
    Object.assign(step.record, { exitCode: last.exitCode, stdout: last.stdout, stderr: last.stderr, result: last.result });
    if (isHealth(last.result)) step.record.healthAfter ??= last.result;
  }

  #remember(runId: string, state: RunState): void {
    this.#runs.set(runId, state);
    if (this.#runs.size <= MAX_RUNS) return;
    for (const [id, s] of this.#runs) {
      if (this.#runs.size <= MAX_RUNS) break;
      if (s.record.endedAt) {
        this.#runs.delete(id);
        for (const st of s.steps) for (const a of st.actionIds) this.#stepOf.delete(a);
      }
    }
  }
}
