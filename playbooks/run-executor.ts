import type { Logger } from 'pino';
import { failSpan, messagingAttributes, SpanKind, startSpan, subjects, traceIdOf, withSpan, inSpan, type BusClient, type Envelope, type RunPhase } from '../bus/index.js';
import type { ApprovalGate } from './approval-gate.js';
import type { LoadedPlaybook } from './loader.js';
import type { RunOutcome, RunPhaseExtra, RunRecord, StepRecord, StepStage } from './run-record.js';
import type { AnyStep } from './schema.js';
import { sendNotification } from './notifier.js';
import { StepRunner, type StepContext } from './step-runner.js';
import { render } from './template.js';
import { idempotencyKey, type JournalEntry, type RunJournal } from './run-journal.js';
import type { DiagnosisContext, LlmDecision } from './diagnose-step.js';
import type { DiagnosisAnswer } from './diagnosis-port.js';
import { playbookRisk } from './loader.js';

export interface RunExecutorDeps {
  bus: BusClient;
  approvals: ApprovalGate;
  log: Logger;
  /** The action that carries notifications (stops, flap budgets); `notify.send`. */
  notifyAction: string;
  /** The run journal (before each attempt, after each step, at the end). */
  journal?: RunJournal;
  /** What `diagnose` steps use. */
  diagnosis?: DiagnosisContext;
}

/**
 * Drives one run: the main steps in order, a failing step's `on_failure` steps, rollback (the
 * `undo` of completed steps, newest first) when the run does not resolve, the playbook's
 * `on_failure` steps after a failure, and a notification when it stops. Publishes
 * `runs.<runId>.<phase>` throughout (`started` — again, with `detail.resumed`, when resumed from the journal — `step`, `awaiting_approval`, then one of
 * `resolved`, `failed`, `stopped`).
 */
export class RunExecutor {
  readonly #steps: StepRunner;
  readonly #ctx: StepContext;
  readonly #log: Logger;
  readonly #done: { step: AnyStep; record: StepRecord }[] = [];
  readonly #event: Envelope<unknown>;

  constructor(
    private readonly d: RunExecutorDeps,
    private readonly pb: LoadedPlaybook,
    private readonly run: RunRecord,
    event: Envelope<unknown>,
    /** The journal entry of a run started by an engine that died: its finished steps are replayed. */
    private readonly resume?: JournalEntry,
  ) {
    this.#log = d.log.child({ runId: run.runId, eventId: event.id, target: run.target, playbook: run.playbook });
    this.#ctx = { event, steps: {} };
    this.#event = event;
    this.#steps = new StepRunner({
      bus: d.bus, approvals: d.approvals, pb, run, log: this.#log, phase: (p, e) => this.#phase(p, e), journal: d.journal, diagnosis: d.diagnosis,
      resume: resume ? { steps: [...resume.steps], inflight: resume.inflight } : undefined,
    });
  }

  /** Publishes `runs.<runId>.<phase>`; `extra` is type-checked against that phase's payload (bus/run-phase-payloads.ts). */
  #phase<P extends RunPhase>(phase: P, extra: RunPhaseExtra<P>): void {
    const r = this.run;
    this.d.bus.publish(
      subjects.run(r.runId, phase),
      `run.${phase}`,
      { runId: r.runId, playbook: r.playbook, target: r.target, eventId: r.eventId, ...(r.traceId ? { traceId: r.traceId } : {}), ...extra },
      { target: r.target },
    );
  }

  /**
   * Runs to the end; never throws. The run is one span (a CONSUMER span processing the event, child
   * of the detection span the event carried), its steps children of it.
   */
  async execute(): Promise<void> {
    const ev = this.#event;
    const span = startSpan(`run ${this.run.playbook}`, {
      kind: SpanKind.CONSUMER,
      attributes: {
        ...messagingAttributes(ev.subject ?? '', 'process', { messageId: ev.id, consumerGroup: 'engine' }),
        'homeostat.run.id': this.run.runId, 'homeostat.playbook': this.run.playbook, 'homeostat.target': this.run.target, 'homeostat.resumed': Boolean(this.resume),
      },
    });
    const traceId = traceIdOf(span);
    if (traceId) this.run.traceId = traceId;
    try {
      await withSpan(span, () => this.#execute());
    } finally {
      span.setAttribute('homeostat.run.outcome', this.run.status);
      if (this.run.status !== 'resolved') failSpan(span, this.run.reason ?? this.run.status);
      span.end();
    }
  }

  async #execute(): Promise<void> {
    const ev = this.#event;
    // the triggering event's subject and time: what a lifecycle notification says was received, and its family
    const detail = { priority: this.pb.playbook.priority, file: this.pb.file, ...(ev.subject ? { event: ev.subject } : {}), eventTime: ev.time };
    if (this.resume) {
      this.#log.info({ finishedSteps: this.resume.steps.length, inflight: this.resume.inflight }, 'run resumed from the journal');
      // the dead engine may have journaled the run and died before its `started` left the process:
      // a resumed run always announces itself again, so the recorder and the dashboard see it
      this.#phase('started', { detail: { ...detail, resumed: true, finishedSteps: this.resume.steps.length } });
    } else {
      const backoffMs = Math.max(0, (this.run.notBefore ?? 0) - this.run.startedAt);
      this.#log.info(backoffMs ? { backoffMs } : {}, backoffMs ? 'run started; backing off before its first step' : 'run started');
      this.#phase('started', { detail: { ...detail, ...(backoffMs ? { backoffMs } : {}) } });
    }
    let outcome: RunOutcome;
    try {
      await this.#backoff();
      outcome = await this.#main();
      if (outcome.kind !== 'resolved') {
        if (this.pb.playbook.rollback) await this.#rollback();
        if (outcome.kind === 'failed' && this.pb.onFailure.length) {
          const stop = await this.#list(this.pb.onFailure, 'on_failure');
          if (stop !== undefined) outcome = { kind: 'stopped', reason: stop };
        }
        if (outcome.kind === 'stopped') await this.#notifyStop(outcome.reason);
      }
    } catch (e) {
      this.#log.error({ err: e }, 'run aborted by an unexpected error');
      outcome = { kind: 'failed', reason: `engine error: ${(e as Error).message}` };
    }
    await this.#finish(outcome);
  }

  /** Waits out the run's back-off (what is left of it after a resume); the timer never holds the process open. */
  async #backoff(): Promise<void> {
    const wait = (this.run.notBefore ?? 0) - Date.now();
    if (wait > 0) await new Promise<void>((resolve) => setTimeout(resolve, wait).unref());
  }

  async #main(): Promise<RunOutcome> {
    if (this.run.llm?.approval === 'required') {
      const out = await this.#steps.approveChoice(playbookRisk(this.pb));
      this.run.steps.push(out.record);
      if (!out.replayed) {
        await this.d.journal?.stepDone(this.run.runId, out.record);
        this.#publishStep(out.record);
      }
      if (out.stop !== undefined) return { kind: 'stopped', reason: out.stop };
    }
    for (const step of this.pb.playbook.steps) {
      const { record, stop } = await this.#one(step, 'main');
      if (stop !== undefined) return { kind: 'stopped', reason: stop };
      if (record.status === 'failed') {
        const handlers = this.pb.stepFailure.get(step.id);
        if (handlers?.length) {
          const s = await this.#list(handlers, 'step_on_failure');
          if (s !== undefined) return { kind: 'stopped', reason: s };
        }
        return { kind: 'failed', reason: `step "${step.id}" failed: ${record.error ?? 'unknown'}` };
      }
    }
    return { kind: 'resolved' };
  }

  /** Runs a list of on_failure steps in order; a failing one does not stop the list, a `stop` does. */
  async #list(steps: AnyStep[], stage: StepStage): Promise<string | undefined> {
    for (const step of steps) {
      const { stop } = await this.#one(step, stage);
      if (stop !== undefined) return stop;
    }
    return undefined;
  }

  async #one(step: AnyStep, stage: StepStage): Promise<{ record: StepRecord; stop?: string }> {
    const out = await inSpan(`step ${step.id}`, { attributes: { 'homeostat.step.id': step.id, 'homeostat.step.stage': stage, ...(step.action ? { 'homeostat.action': step.action } : {}), ...(step.verify ? { 'homeostat.probe': step.verify.probe } : {}) } }, async (span) => {
      const o = await this.#steps.run(step, this.#ctx, stage);
      span.setAttributes({ 'homeostat.step.status': o.record.status, 'homeostat.step.attempts': o.record.attempts });
      if (o.record.status === 'failed' || o.record.status === 'rejected') failSpan(span, o.record.error ?? o.record.status);
      return o;
    });
    const rec = out.record;
    this.run.steps.push(rec);
    this.#ctx.steps[step.id] = { status: rec.status, result: rec.result };
    if (rec.status === 'ok') this.#done.push({ step, record: rec });
    if (rec.action === 'diagnose' && rec.status === 'ok') {
      const decision = rec.result.decision as LlmDecision;
      if (decision.kind !== 'stop' && !this.run.llm) this.run.chosen = { playbook: decision.playbook, decision, answer: rec.result.diagnosis as DiagnosisAnswer };
    }
    if (!out.replayed) {
      await this.d.journal?.stepDone(this.run.runId, rec);
      this.#publishStep(rec);
    }
    return out;
  }

  #publishStep(rec: StepRecord): void {
    this.#phase('step', {
      step: rec.id,
      status: rec.status,
      durationMs: rec.durationMs,
      ...(rec.error !== undefined ? { reason: rec.error } : {}),
      detail: { stage: rec.stage ?? 'main', attempts: rec.attempts, action: rec.action, params: rec.params, result: rec.result },
    });
  }

  /** The `undo` of every completed step that has one, newest first; a failed undo does not stop the others. */
  async #rollback(): Promise<void> {
    for (const { step } of [...this.#done].reverse()) {
      const undo = 'undo' in step ? step.undo : undefined;
      if (!undo) continue;
      const id = `${step.id}.undo`;
      const replayed = this.#steps.takeReplay('rollback', id);
      if (replayed) {
        this.run.steps.push(replayed);
        continue;
      }
      const started = performance.now();
      let rec: StepRecord;
      try {
        const params = render(undo.with, this.#ctx);
        const key = idempotencyKey(this.run.runId, 'rollback', id, 1);
        await this.d.journal?.attempt(this.run.runId, { stage: 'rollback', step: id, attempt: 1, key });
        const r = await this.#steps.call(undo.action, params, undo.timeout, key);
        rec = { id, stage: 'rollback', action: undo.action, params, status: r.status === 'ok' ? 'undone' : 'undo_failed', result: r.result, attempts: 1, durationMs: performance.now() - started, error: r.status === 'ok' ? undefined : r.error };
      } catch (e) {
        rec = { id, stage: 'rollback', action: undo.action, status: 'undo_failed', result: {}, attempts: 0, durationMs: 0, error: (e as Error).message };
      }
      this.#log.info({ step: step.id, status: rec.status, error: rec.error }, 'rollback');
      this.run.steps.push(rec);
      await this.d.journal?.stepDone(this.run.runId, rec);
      this.#publishStep(rec);
    }
  }

  async #notifyStop(reason: string): Promise<void> {
    const r = this.run;
    const message = `playbook ${r.playbook} stopped on ${r.target}: ${reason}`;
    await sendNotification(this.d.bus, this.d.notifyAction, { message, severity: 'warning', target: r.target, details: { runId: r.runId, playbook: r.playbook, reason } }, this.#log, r.runId);
  }

  async #finish(outcome: RunOutcome): Promise<void> {
    const r = this.run;
    await this.d.journal?.ended(r.runId, outcome.kind, outcome.kind === 'resolved' ? undefined : outcome.reason);
    this.#announce(outcome);
    await this.d.journal?.remove(r.runId);
  }

  #announce(outcome: RunOutcome): void {
    const r = this.run;
    r.endedAt = Date.now();
    const durationMs = r.endedAt - r.startedAt;
    const detail = { attached: r.attached, steps: r.steps.length };
    if (outcome.kind === 'resolved') {
      r.status = 'resolved';
      this.#log.info({ durationMs }, 'run resolved');
      this.#phase('resolved', { durationMs, detail });
      return;
    }
    r.status = outcome.kind;
    r.reason = outcome.reason;
    this.#log.warn({ reason: r.reason, durationMs }, `run ${outcome.kind}`);
    this.#phase(outcome.kind, { reason: outcome.reason, durationMs, detail });
  }
}
