import type { Logger } from 'pino';
import { ActionResultData, inSpan, newId, NoRespondersError, RequestTimeoutError, subjects, type BusClient, type Envelope, type RunPhase } from '../bus/index.js';
import type { ApprovalGate } from './approval-gate.js';
import { runDiagnoseStep, type DiagnosisContext } from './diagnose-step.js';
import { evaluateBool } from './expression.js';
import type { LoadedPlaybook } from './loader.js';
import type { RunPhaseExtra, RunRecord, StepRecord, StepStage } from './run-record.js';
import { idempotencyKey, type InflightAttempt, type RunJournal } from './run-journal.js';
import type { AnyStep } from './schema.js';
import { render } from './template.js';

/** What the run gets back from one step: its record, and whether the run must end. */
export interface StepOutcome {
  record: StepRecord;
  /** Set when the run must end as `stopped` (a `stop` step, or an approval refused or timed out). */
  stop?: string;
  /** The step had finished before the engine restarted: its journaled record, not run again. */
  replayed?: boolean;
}

export interface StepRunnerDeps {
  bus: BusClient;
  approvals: ApprovalGate;
  pb: LoadedPlaybook;
  run: RunRecord;
  log: Logger;
  phase<P extends RunPhase>(phase: P, extra: RunPhaseExtra<P>): void;
  /** Where action attempts are journaled before they are sent. */
  journal?: RunJournal;
  /** A resumed run: the steps it already finished (replayed, not run again) and its unanswered attempt. */
  resume?: { steps: StepRecord[]; inflight?: InflightAttempt };
  /** What `diagnose` steps use; without it they are skipped. */
  diagnosis?: DiagnosisContext;
}

/** The template and expression context: the event and the outputs of earlier steps. */
export type StepContext = { event: unknown; steps: Record<string, { status: string; result: Record<string, unknown> }> };

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Whether a step waits for an operator: `approval` when given, else required for `risk: high`. */
export function needsApproval(step: AnyStep): boolean {
  if (!step.action) return false;
  const approval = 'approval' in step ? step.approval : undefined;
  const risk = 'risk' in step ? step.risk : undefined;
  return (approval ?? (risk === 'high' ? 'required' : 'none')) === 'required';
}

/** Runs the steps of one run: `when`, `stop`, approval, actions with timeout and retry, verify polling. */
export class StepRunner {
  constructor(private readonly d: StepRunnerDeps) {}

  /**
   * The journaled record of the next step of a resumed run, when it is this one. A run is
   * deterministic given its step outcomes, so replaying them walks the same path.
   */
  takeReplay(stage: StepStage, id: string): StepRecord | undefined {
    const next = this.d.resume?.steps[0];
    if (!next) return undefined;
    if (next.id === id && (next.stage ?? 'main') === stage) return this.d.resume!.steps.shift();
    this.d.log.warn({ expected: `${next.stage}/${next.id}`, got: `${stage}/${id}` }, 'resumed run diverged from its journal; running the rest afresh');
    this.d.resume!.steps.length = 0;
    return undefined;
  }

  /** The unanswered attempt of a resumed run, when it belongs to this step (taken once). */
  #takeInflight(stage: StepStage, id: string): InflightAttempt | undefined {
    const f = this.d.resume?.inflight;
    if (!f || f.stage !== stage || f.step !== id) return undefined;
    this.d.resume!.inflight = undefined;
    return f;
  }

  /** Runs one step; never throws (a failure is a `failed` record with the reason). */
  async run(step: AnyStep, ctx: StepContext, stage: StepStage): Promise<StepOutcome> {
    const replayed = this.takeReplay(stage, step.id);
    if (replayed) return { record: replayed, replayed: true, stop: replayed.status === 'stopped' || replayed.status === 'rejected' ? replayed.error : undefined };
    const base = { id: step.id, stage, attempts: 0, durationMs: 0, result: {} };
    const cond = this.d.pb.conditions.get(step.id);
    if (cond) {
      const r = evaluateBool(cond, ctx);
      if (!r.value) return { record: { ...base, status: 'skipped', error: r.error ? `when: ${r.error}` : `when "${step.when}" is false` } };
    }
    if (step.stop !== undefined) {
      let reason = step.stop;
      try {
        reason = String(render(step.stop, ctx));
      } catch (e) {
        this.d.log.warn({ step: step.id, err: (e as Error).message }, 'stop reason not rendered; using it as written');
      }
      return { record: { ...base, status: 'stopped', error: reason }, stop: reason };
    }
    if (step.verify) return { record: await this.#verify(step, ctx, stage) };
    if ('diagnose' in step && step.diagnose) return { record: await runDiagnoseStep(step, ctx.event as Envelope<unknown>, this.d.run, stage, this.d.diagnosis, this.d.log) };
    return this.#action(step, ctx, stage);
  }

  /**
   * The approval of a run an LLM diagnosis chose (`run.llm.approval === 'required'`), before its
   * first step: `awaiting_approval` with the step `llm-choice`; a rejection or a timeout stops the run.
   */
  async approveChoice(risk: string): Promise<StepOutcome> {
    const id = 'llm-choice';
    const replayed = this.takeReplay('main', id);
    if (replayed) return { record: replayed, replayed: true, stop: replayed.status === 'rejected' ? replayed.error : undefined };
    const llm = this.d.run.llm!;
    const started = performance.now();
    const params = { playbook: this.d.run.playbook, chosenBy: 'llm', triageRunId: llm.triageRunId, confidence: llm.confidence, rootCause: llm.rootCause, why: llm.reason };
    const base = { id, stage: 'main' as const, action: 'playbook.run', params, attempts: 0, result: {} };
    const waiting = this.d.approvals.wait(this.d.run.runId, id, llm.approvalTimeoutMs);
    const asking = { action: 'playbook.run', params, risk, timeoutMs: llm.approvalTimeoutMs, expiresAt: new Date(Date.now() + llm.approvalTimeoutMs).toISOString() };
    this.d.run.awaitingApproval = { step: id, ...asking };
    this.d.phase('awaiting_approval', { step: id, detail: asking });
    this.d.log.info({ playbook: this.d.run.playbook, confidence: llm.confidence }, 'a playbook chosen by the LLM waits for approval');
    const decision = await waiting;
    this.d.run.awaitingApproval = undefined;
    if (!decision.approved) {
      const reason = decision.timedOut ? `approval timed out: ${decision.reason}` : `approval rejected${decision.by ? ` by ${decision.by}` : ''}: ${decision.reason}`;
      return { record: { ...base, status: 'rejected', durationMs: performance.now() - started, error: reason }, stop: reason };
    }
    return { record: { ...base, status: 'ok', durationMs: performance.now() - started } };
  }

  async #action(step: AnyStep, ctx: StepContext, stage: StepStage): Promise<StepOutcome> {
    const action = step.action!;
    const started = performance.now();
    const base = { id: step.id, stage, action, result: {} };
    let params: Record<string, unknown>;
    try {
      params = render(step.with, ctx) as Record<string, unknown>;
    } catch (e) {
      return { record: { ...base, status: 'failed', attempts: 0, durationMs: 0, error: (e as Error).message } };
    }
    const inflight = this.#takeInflight(stage, step.id);
    if (inflight) this.d.log.info({ step: step.id, attempt: inflight.attempt, key: inflight.key }, 'resuming an unanswered attempt with its idempotency key');
    if (needsApproval(step) && !inflight) {
      const timeoutMs = 'approval_timeout' in step ? step.approval_timeout : 300_000;
      const waiting = this.d.approvals.wait(this.d.run.runId, step.id, timeoutMs);
      const asking = { action, params, risk: 'risk' in step ? (step.risk ?? 'low') : 'low', timeoutMs, expiresAt: new Date(Date.now() + timeoutMs).toISOString() };
      this.d.run.awaitingApproval = { step: step.id, ...asking };
      this.d.phase('awaiting_approval', { step: step.id, detail: asking });
      this.d.log.info({ step: step.id, action, params, timeoutMs }, 'waiting for approval');
      const decision = await inSpan(`approval ${step.id}`, { attributes: { 'homeostat.step.id': step.id, 'homeostat.action': action, 'homeostat.approval.timeout_ms': timeoutMs } }, async (span) => {
        const asked = performance.now();
        const d = await waiting;
        span.setAttributes({ 'homeostat.approval.wait_ms': Math.round(performance.now() - asked), 'homeostat.approval.decision': d.approved ? 'approve' : d.timedOut ? 'timeout' : 'reject', ...(d.by ? { 'homeostat.approval.by': d.by } : {}) });
        return d;
      });
      this.d.run.awaitingApproval = undefined;
      if (!decision.approved) {
        const reason = decision.timedOut ? `approval timed out: ${decision.reason}` : `approval rejected${decision.by ? ` by ${decision.by}` : ''}: ${decision.reason}`;
        return { record: { ...base, params, status: 'rejected', attempts: 0, durationMs: performance.now() - started, error: reason }, stop: reason };
      }
      this.d.log.info({ step: step.id, by: decision.by }, 'approved');
    }
    const retry = step.retry ?? { attempts: 1, interval: 0, backoff: 1 };
    let wait = retry.interval;
    let attempts = inflight ? inflight.attempt - 1 : 0;
    let error = '';
    let result: Record<string, unknown> = {};
    while (attempts < retry.attempts) {
      attempts++;
      const key = idempotencyKey(this.d.run.runId, stage, step.id, attempts);
      await this.d.journal?.attempt(this.d.run.runId, { stage, step: step.id, attempt: attempts, key });
      const r = await this.call(action, params, step.timeout, key);
      result = r.result;
      if (r.status === 'ok') {
        const durationMs = performance.now() - started;
        this.d.log.info({ step: step.id, action, attempts, durationMs }, 'step done');
        return { record: { ...base, params, status: 'ok', result, attempts, durationMs } };
      }
      error = r.error;
      if (r.status === 'refused') break;
      if (attempts < retry.attempts) {
        this.d.log.info({ step: step.id, attempts, error, waitMs: wait }, 'action failed; retrying');
        await sleep(wait);
        wait *= retry.backoff;
      }
    }
    return { record: { ...base, params, status: 'failed', result, attempts, durationMs: performance.now() - started, error } };
  }

  async #verify(step: AnyStep, ctx: StepContext, stage: StepStage): Promise<StepRecord> {
    const v = step.verify!;
    const expect = this.d.pb.expects.get(step.id)!;
    const started = performance.now();
    const base = { id: step.id, stage, action: v.probe };
    let params: Record<string, unknown>;
    try {
      params = render(v.with, ctx) as Record<string, unknown>;
    } catch (e) {
      return { ...base, status: 'failed', result: {}, attempts: 0, durationMs: 0, error: (e as Error).message };
    }
    const deadline = Date.now() + v.within;
    let interval = v.interval;
    let attempts = 0;
    let last: Record<string, unknown> = {};
    let lastError = 'expectation never held';
    while (Date.now() < deadline) {
      attempts++;
      const poll = attempts;
      const r = await inSpan(`verify poll ${poll}`, { attributes: { 'homeostat.probe': v.probe, 'homeostat.verify.attempt': poll } }, async (span) => {
        const res = await this.call(v.probe, params, Math.max(100, Math.min(step.timeout, deadline - Date.now())));
        span.setAttribute('homeostat.action.status', res.status);
        return res;
      });
      last = r.result;
      if (r.status === 'ok') {
        const e = evaluateBool(expect, { ...ctx, result: r.result });
        if (e.value) {
          const durationMs = performance.now() - started;
          this.d.log.info({ step: step.id, attempts, durationMs }, 'verified');
          return { ...base, params, status: 'ok', result: last, attempts, durationMs };
        }
        lastError = e.error ?? `expectation "${v.expect}" not met`;
      } else {
        lastError = r.error;
      }
      const wait = Math.min(interval, Math.max(0, deadline - Date.now()));
      if (wait <= 0) break;
      await sleep(wait);
      interval *= v.backoff;
    }
    return { ...base, params, status: 'failed', result: last, attempts, durationMs: performance.now() - started, error: `not verified within ${v.within} ms: ${lastError}` };
  }

  /**
   * Calls one action and waits for its result; a timeout or bus error is a `failed` result. A
   * read-only probe goes by request/reply on `actions.<family>.<verb>.probe` (nothing stored, no
   * idempotency key); any other action through the durable stream, answered on `results.<actionId>`.
   */
  async call(action: string, params: unknown, timeoutMs: number, key?: string): Promise<{ status: ActionResultData['status']; result: Record<string, unknown>; error: string }> {
    const [family, verb] = action.split('.') as [string, string];
    const actionId = newId();
    const target = this.d.run.target === '_global' ? undefined : this.d.run.target;
    const probe = this.d.pb.probes.has(action);
    const request = { actionId, runId: this.d.run.runId, action, target, params, timeoutMs, ...(key && !probe ? { idempotencyKey: key } : {}) };
    try {
      const env = probe
        ? await this.d.bus.request(subjects.probe(family, verb), 'action.request', request, ActionResultData, timeoutMs, { target })
        : await this.d.bus.call(subjects.action(family, verb), actionId, request, ActionResultData, timeoutMs, { target });
      const r = env.data;
      return { status: r.status, result: r.result, error: r.error?.message ?? (r.status === 'ok' ? '' : `action ${r.status}`) };
    } catch (e) {
      const error =
        e instanceof RequestTimeoutError ? `no result from ${action} within ${timeoutMs} ms` : e instanceof NoRespondersError ? `no running handler serves ${action}` : (e as Error).message;
      return { status: 'failed', result: {}, error };
    }
  }
}
