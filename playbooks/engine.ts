import type { Msg } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { z } from 'zod';
import { BudgetResetData, DURABLE_STREAMS, DurableConsumer, ensureStream, eventProblem, newId, subjects, withTraceCarrier, type BudgetExhaustedData, type BusClient, type Envelope, type RunPhasePayload } from '../bus/index.js';
import { candidatesOf, decideChoice, type DiagnosisContext } from './diagnose-step.js';
import type { Diagnoser } from './diagnosis-port.js';
import { serveActiveRuns } from './active-runs.js';
import { ApprovalGate, replyTo } from './approval-gate.js';
import type { LoadedPlaybook } from './loader.js';
import { sendNotification } from './notifier.js';
import { RunExecutor } from './run-executor.js';
import { RunbookMemory } from './runbook-memory.js';
import type { JournalEntry, RunJournal } from './run-journal.js';
import type { RunRecord } from './run-record.js';
import { TriggerGate, type Selection } from './trigger-gate.js';
import type { TriggerState } from './trigger-state.js';

export interface EngineOptions {
  bus: BusClient;
  playbooks: LoadedPlaybook[];
  log: Logger;
  /** The action that carries notifications (stops, exhausted flap budgets). Default `notify.send`. */
  notifyAction?: string;
  /** Finished runs kept in memory for {@link PlaybookEngine.runs}. Default 1000. */
  keepRuns?: number;
  /** The run journal: runs and attempts are written before they execute, and resumed after a restart. */
  journal?: RunJournal;
  /** The LLM diagnoser `diagnose` steps ask; without it they are skipped with `diagnoserUnavailable` as the reason. */
  diagnoser?: Diagnoser | null;
  diagnoserUnavailable?: string;
  /**
   * Where dedupe windows, cooldowns, flap budgets and back-off streaks live. Default: this process's
   * memory (forgotten on restart); a stack passes {@link openTriggerState}'s KV bucket.
   */
  triggerState?: TriggerState;
}

/** How the engine takes events from the durable bus. */
export interface DurableIntakeOptions {
  /** The durable consumer's name (default `engine`). */
  durable?: string;
  /** An event not acknowledged within this time is redelivered (default 10 s). */
  ackWaitMs?: number;
  /** Deliveries before an event is dead-lettered (default 5). */
  maxDeliver?: number;
}

/** Counters of what the engine did with the events it received. */
export interface EngineStats {
  /** Events received on `events.>`. */
  events: number;
  /** Events that selected a playbook. */
  matched: number;
  started: number;
  /** Attached to the active run on their target (one run per target). */
  attached: number;
  deduplicated: number;
  cooldown: number;
  /** Refused because the playbook's flap budget on the target ran out. */
  budgetRefused: number;
  /** Events of a catalogued kind whose data broke its schema: dead-lettered, never matched. */
  invalid: number;
  /** Runs started because an LLM diagnosis chose their playbook. */
  chosenByLlm: number;
}

/**
 * The playbook engine: matches `events.>` to playbooks (priority decides), applies dedupe,
 * cooldown and flap budgets, keeps one run per target (a matching event for a target with an
 * active run is attached to it and counted), and drives each run with a {@link RunExecutor}.
 * Operators approve gated steps on `approvals.<runId>`, lift flap budgets on
 * `approvals.budget.reset`, and ask for the active runs on `engine.runs.active`.
 */
export class PlaybookEngine {
  readonly #active = new Map<string, RunRecord>();
  readonly #runs: RunRecord[] = [];
  /** Ids of the events that started the kept runs: a redelivered event is spotted without a scan. */
  readonly #runEvents = new Set<string>();
  /** The latest event attached to an active run of a playbook with `backoff`, by run id: tried again if the run does not resolve. */
  readonly #pending = new Map<string, Envelope<unknown>>();
  readonly #idle = new Set<() => void>();
  /** Per target, the tail of its serial work (admission, start, end): one decision at a time per target. */
  readonly #serial = new Map<string, Promise<void>>();
  /** Events waiting for an ended run's clean-up, by run id. */
  readonly #cleanups = new Map<string, { promise: Promise<void>; resolve: () => void }>();
  /** What worked before, per event signature: breaks ties between playbooks of equal priority. */
  readonly runbook = new RunbookMemory();
  readonly #gate: TriggerGate;
  readonly #approvals: ApprovalGate;
  readonly #notifyAction: string;
  readonly #keepRuns: number;
  readonly #journal: RunJournal | undefined;
  readonly #diagnosis: DiagnosisContext;
  #intake: DurableConsumer<z.ZodUnknown> | null = null;
  #playbooks: LoadedPlaybook[];
  readonly stats: EngineStats = { events: 0, matched: 0, started: 0, attached: 0, deduplicated: 0, cooldown: 0, budgetRefused: 0, invalid: 0, chosenByLlm: 0 };
  readonly bus: BusClient;
  readonly log: Logger;

  constructor(opts: EngineOptions) {
    this.bus = opts.bus;
    this.#playbooks = opts.playbooks;
    this.log = opts.log;
    this.#notifyAction = opts.notifyAction ?? 'notify.send';
    this.#keepRuns = opts.keepRuns ?? 1000;
    this.#journal = opts.journal;
    this.#gate = new TriggerGate(opts.playbooks, opts.triggerState);
    this.#approvals = new ApprovalGate(opts.bus, opts.log);
    this.#diagnosis = {
      diagnoser: opts.diagnoser ?? null,
      unavailable: opts.diagnoserUnavailable,
      candidates: (names) => candidatesOf(this.#playbooks, names),
      history: (signature) => this.runbook.outcomes(signature),
      decide: (answer, signature) => decideChoice(this.#playbooks, answer, signature),
    };
  }

  /**
   * Starts the playbook a diagnosis chose (when the triage run resolved), through the trigger gate's
   * budget, dedupe and cooldown. Runs in the target's serial work.
   */
  async #startChosen(triage: RunRecord, env: Envelope<unknown>): Promise<void> {
    const chosen = triage.chosen!;
    const log = this.log.child({ triageRunId: triage.runId, playbook: chosen.playbook, target: triage.target });
    const pb = this.#playbooks.find((p) => p.playbook.name === chosen.playbook);
    if (!pb) return log.warn('the chosen playbook is no longer loaded; nothing started');
    if (this.#active.has(triage.target)) return log.warn('another run is active on the target; the chosen playbook is not started');
    const now = Date.now();
    const adm = await this.#gate.admit(pb, env, triage.target, now);
    if (adm.kind !== 'start') return log.warn({ admission: adm.kind }, 'the chosen playbook was refused by its trigger gate');
    const d = chosen.decision;
    const rule = pb.playbook.llm;
    this.stats.chosenByLlm++;
    log.info({ approval: d.kind === 'auto' ? 'auto' : 'required', reason: d.reason }, 'starting the playbook the diagnosis chose');
    await this.#start(pb, env, triage.target, now, adm.delayMs, {
      triageRunId: triage.runId, approval: d.kind === 'auto' ? 'auto' : 'required', reason: d.reason, confidence: chosen.answer.confidence,
      rootCause: chosen.answer.root_cause.slice(0, 500), approvalTimeoutMs: rule?.approval_timeout ?? 300_000,
    });
  }

  /** Subscribes to events (queue group `engine`), approvals and budget resets. */
  start(): void {
    this.bus.subscribe(subjects.eventsAll, z.unknown(), (env, msg) => this.handleEvent(env, msg.subject), { queue: 'engine' });
    this.#startControl();
  }

  #startControl(): void {
    this.#approvals.start();
    serveActiveRuns(this.bus, () => this.#active.values(), this.log);
    this.bus.subscribe(subjects.budgetReset, BudgetResetData, (env, msg) => this.#onBudgetReset(env, msg), { acceptBare: true });
  }

  /**
   * Starts on the durable bus instead of {@link start}: resumes the journal's unfinished runs, then
   * takes events from the HOMEOSTAT_EVENTS stream through a durable consumer, acknowledging each
   * once it is handled (a started run is journaled first); approvals and budget resets as in `start`.
   */
  async startDurable(opts: DurableIntakeOptions = {}): Promise<void> {
    this.#startControl();
    await this.resumeFromJournal();
    await ensureStream(this.bus, DURABLE_STREAMS.events);
    this.#intake = await DurableConsumer.start(
      this.bus,
      { stream: DURABLE_STREAMS.events.name, durable: opts.durable ?? 'engine', schema: z.unknown(), ackWaitMs: opts.ackWaitMs ?? 10_000, maxDeliver: opts.maxDeliver ?? 5,
        // an event whose trigger state cannot be written yet (a JetStream leader election after a
        // node died: "jetstream is not enabled" for a few seconds) is retried over ~15 s, not ~3 s
        retryDelaysMs: [250, 1000, 4000, 10_000], handler: (env, info) => this.#onEvent(env, info.subject) },
      this.log,
    );
  }

  /** Stops taking events from the durable bus (runs in progress go on). */
  async stop(): Promise<void> {
    await this.#intake?.stop();
    this.#intake = null;
  }

  /** Resumes every unfinished run of the journal; returns how many. */
  async resumeFromJournal(): Promise<number> {
    if (!this.#journal) return 0;
    let n = 0;
    for (const entry of await this.#journal.entries()) {
      if (entry.ended || this.#runs.some((r) => r.runId === entry.run.runId)) {
        if (entry.ended) await this.#journal.remove(entry.run.runId);
        continue;
      }
      this.#resume(entry);
      n++;
    }
    if (n) this.log.info({ runs: n }, 'resumed unfinished runs from the journal');
    return n;
  }

  #resume(entry: JournalEntry): void {
    const pb = this.#playbooks.find((p) => p.playbook.name === entry.run.playbook);
    const run: RunRecord = { ...entry.run, status: 'running', steps: [] };
    if (!pb) {
      const reason = `playbook ${entry.run.playbook} is no longer loaded; the run cannot resume`;
      this.log.error({ runId: run.runId }, reason);
      const failed: RunPhasePayload<'failed'> = { runId: run.runId, playbook: run.playbook, target: run.target, eventId: run.eventId, reason };
      this.bus.publish(subjects.run(run.runId, 'failed'), 'run.failed', failed, { target: run.target });
      void this.#journal?.remove(run.runId);
      return;
    }
    // the resumed run's span joins the trace its first engine started it in
    withTraceCarrier(entry.trace, () => void this.#launch(pb, run, entry.event, entry));
  }

  /** Swaps the playbook set (hot reload); runs already started keep the version they started with. */
  replacePlaybooks(playbooks: LoadedPlaybook[]): void {
    this.#playbooks = playbooks;
    this.#gate.replace(playbooks);
  }

  get playbooks(): readonly LoadedPlaybook[] {
    return this.#playbooks;
  }

  /** Recent runs, oldest first (active ones included). */
  get runs(): readonly RunRecord[] {
    return this.#runs;
  }

  /** The active run on a target, if any. */
  activeRun(target: string): RunRecord | undefined {
    return this.#active.get(target);
  }

  /** The playbook an event would start, highest priority first; null when none matches. */
  select(env: Envelope<unknown>): LoadedPlaybook | null {
    return this.#gate.select(env).chosen;
  }

  /** Handles one event received on `subject` (default: the envelope's). */
  handleEvent(env: Envelope<unknown>, subject = env.subject ?? ''): void {
    this.#onEvent(env, subject).catch((e: unknown) => this.log.error({ err: (e as Error).message, eventId: env.id, subject }, 'event not handled'));
  }

  /**
   * Handles one event; resolves once a run it started is journaled. An event of a catalogued kind
   * whose data breaks its schema is dead-lettered with the reason and resolves (so the durable
   * consumer acknowledges it: it is never redelivered).
   */
  #onEvent(env: Envelope<unknown>, subject: string): Promise<void> {
    this.stats.events++;
    const problem = eventProblem(subject, env.data);
    if (problem) {
      this.stats.invalid++;
      this.bus.deadletterRaw(subject, JSON.stringify(env), problem);
      return Promise.resolve();
    }
    if (this.#journal && this.#runEvents.has(env.id)) {
      this.log.debug({ eventId: env.id }, 'event redelivered after its run was journaled; ignored');
      return Promise.resolve();
    }
    return this.#route(env);
  }

  #route(env: Envelope<unknown>): Promise<void> {
    const sel = this.#gate.select(env, this.runbook);
    const pb = sel.chosen;
    if (!pb) return Promise.resolve();
    this.stats.matched++;
    const target = env.target ?? '_global';
    const active = this.#active.get(target);
    if (active && active.status === 'running') return Promise.resolve(this.#attach(active, pb, env));
    // the run on the target has ended (its final phase is out) and is being cleaned up: the problem came back, decide after it
    if (active) return this.#afterRun(active.runId).then(() => this.#route(env));
    return this.#inTurn(target, () => this.#admit(pb, sel, env, target)).then((ended) => (ended ? this.#afterRun(ended).then(() => this.#route(env)) : undefined));
  }

  /** Resolves once the run has left the active runs and its end is queued in its target's turn. */
  #afterRun(runId: string): Promise<void> {
    let w = this.#cleanups.get(runId);
    if (!w) {
      let resolve!: () => void;
      w = { promise: new Promise<void>((r) => (resolve = r)), resolve };
      this.#cleanups.set(runId, w);
    }
    return w.promise;
  }

  /** Runs `work` after the target's earlier serial work (admissions, ends); the returned promise follows `work`. */
  #inTurn<T>(target: string, work: () => Promise<T>): Promise<T> {
    const prev = this.#serial.get(target) ?? Promise.resolve();
    const next = prev.then(work, work);
    const tail = next.then(
      () => undefined,
      () => undefined,
    );
    this.#serial.set(target, tail);
    void tail.then(() => {
      if (this.#serial.get(target) === tail) this.#serial.delete(target);
    });
    return next;
  }

  #attach(active: RunRecord, pb: LoadedPlaybook, env: Envelope<unknown>): void {
    active.attached++;
    this.stats.attached++;
    if (pb.playbook.backoff && pb.playbook.name === active.playbook) this.#pending.set(active.runId, env);
  }

  /**
   * Admission through the trigger gate and the start of a run; in the target's turn. Resolves with
   * the id of a run that ended on the target but is still being cleaned up (decide again after it).
   */
  async #admit(pb: LoadedPlaybook, sel: Selection, env: Envelope<unknown>, target: string): Promise<string | undefined> {
    // a run may have started on the target while this event waited for its turn
    const active = this.#active.get(target);
    if (active && active.status === 'running') {
      this.#attach(active, pb, env);
      return undefined;
    }
    if (active) return active.runId;
    const now = Date.now();
    const adm = await this.#gate.admit(pb, env, target, now);
    const fields = { eventId: env.id, playbook: pb.playbook.name, target };
    switch (adm.kind) {
      case 'deduplicated':
        this.stats.deduplicated++;
        this.log.debug({ ...fields, key: adm.key }, 'event deduplicated');
        return;
      case 'cooldown':
        this.stats.cooldown++;
        this.log.debug({ ...fields, untilMs: adm.untilMs }, 'playbook cooling down on this target');
        return;
      case 'budget_refused':
        this.stats.budgetRefused++;
        if (adm.first) this.#budgetExhausted(pb, target, adm.untilMs, this.log.child(fields));
        else this.log.debug(fields, 'flap budget exhausted; run refused');
        return;
      case 'start':
        if (sel.candidates.length > 1) {
          const why = sel.byRunbook ? 'equal priority; the runbook prefers what worked last time' : 'highest priority chosen';
          this.log.info({ ...fields, candidates: sel.candidates, runbook: this.runbook.outcome(env.subject ?? '', pb.playbook.name) }, `several playbooks match; ${why}`);
        }
        await this.#start(pb, env, target, now, adm.delayMs);
        return undefined;
    }
  }

  #start(pb: LoadedPlaybook, env: Envelope<unknown>, target: string, now: number, delayMs = 0, llm?: RunRecord['llm']): Promise<void> {
    const run: RunRecord = { runId: newId(), playbook: pb.playbook.name, target, eventId: env.id, status: 'running', startedAt: now, steps: [], attached: 0, ...(delayMs ? { notBefore: now + delayMs } : {}), ...(llm ? { llm } : {}) };
    this.stats.started++;
    return this.#launch(pb, run, env);
  }

  /** Makes `run` active and drives it; resolves once it is journaled (the run goes on). */
  #launch(pb: LoadedPlaybook, run: RunRecord, env: Envelope<unknown>, resume?: JournalEntry): Promise<void> {
    const target = run.target;
    this.#active.set(target, run);
    this.#runs.push(run);
    this.#runEvents.add(run.eventId);
    if (this.#runs.length > this.#keepRuns) this.#runEvents.delete(this.#runs.shift()!.eventId);
    const journaled = resume || !this.#journal ? Promise.resolve() : this.#journal.begin(run, env);
    const exec = new RunExecutor({ bus: this.bus, approvals: this.#approvals, log: this.log, notifyAction: this.#notifyAction, journal: this.#journal, diagnosis: this.#diagnosis }, pb, run, env, resume);
    void journaled
      .then(() => exec.execute())
      // a run cut short (e.g. the bus closed when the stack stopped) is logged, never crashes the process
      .catch((e: unknown) => this.log.warn({ err: e, runId: run.runId }, 'run ended abnormally'))
      .finally(() => {
        if (run.status !== 'running') this.runbook.record(env.subject ?? '', run.playbook, run.status);
        this.#active.delete(target);
        const ended = Date.now();
        // in the target's turn: the end is stored (cooldown, back-off) before the next admission on the target
        void this.#inTurn(target, async () => {
          try {
            await this.#gate.ended(pb, target, ended);
          } catch (e) {
            this.log.warn({ err: (e as Error).message, runId: run.runId, target }, 'the end of a run was not stored in the trigger state (cooldown and back-off may not apply)');
          }
          const pending = this.#pending.get(run.runId);
          this.#pending.delete(run.runId);
          // the problem came back while a back-off playbook's run was failing: try again, through the gate
          if (pending && run.status !== 'resolved' && run.status !== 'running') void this.#route(pending).catch((e: unknown) => this.log.warn({ err: (e as Error).message, target }, 'retry after a failed back-off run not admitted'));
          // a diagnosis chose a playbook: it runs through the normal path (gate, approvals), never more than one hop
          if (run.chosen && run.status === 'resolved' && !run.llm) await this.#startChosen(run, env);
        })
          .catch((e: unknown) => this.log.warn({ err: (e as Error).message, runId: run.runId, target }, 'work after the end of a run failed'))
          .finally(() => {
            if (this.#active.size === 0) for (const f of [...this.#idle]) f();
          });
        const waiting = this.#cleanups.get(run.runId);
        this.#cleanups.delete(run.runId);
        waiting?.resolve();
      });
    return journaled;
  }

  #budgetExhausted(pb: LoadedPlaybook, target: string, untilMs: number, log: Logger): void {
    const budget = pb.playbook.budget!;
    const until = new Date(untilMs).toISOString();
    log.warn({ runs: budget.runs, perMs: budget.per, until }, 'flap budget exhausted; no more runs until the window passes or an operator resets it');
    const data: BudgetExhaustedData = { playbook: pb.playbook.name, target, runs: budget.runs, perMs: budget.per, until };
    this.bus.publish(subjects.event('playbook', 'budget_exhausted'), 'playbook.budget_exhausted', data, target === '_global' ? {} : { target });
    void sendNotification(
      this.bus,
      this.#notifyAction,
      {
        message: `playbook ${pb.playbook.name} ran ${budget.runs} times on ${target} within ${budget.per} ms: no more runs until ${until} (or \`homeostat playbooks reset-budget ${pb.playbook.name} ${target}\`)`,
        severity: 'critical',
        target,
        details: data,
      },
      log,
    );
  }

  /** Lifts the flap budget of `playbook` on `target`; says whether it was exhausted. */
  async resetBudget(playbook: string, target: string, by?: string): Promise<boolean> {
    const was = await this.#gate.resetBudget(playbook, target);
    this.log.info({ playbook, target, by, wasExhausted: was }, 'flap budget reset');
    this.bus.publish(subjects.event('playbook', 'budget_reset'), 'playbook.budget_reset', { playbook, target, by, wasExhausted: was }, target === '_global' ? {} : { target });
    return was;
  }

  async #onBudgetReset(env: Envelope<BudgetResetData>, msg: Msg): Promise<void> {
    const { playbook, target, by } = env.data;
    if (!this.#playbooks.some((p) => p.playbook.name === playbook)) {
      replyTo(this.bus, msg, { accepted: false, message: `no playbook "${playbook}" (known: ${this.#playbooks.map((p) => p.playbook.name).join(', ')})` });
      return;
    }
    let was: boolean;
    try {
      was = await this.resetBudget(playbook, target, by);
    } catch (e) {
      replyTo(this.bus, msg, { accepted: false, message: `flap budget of ${playbook} on ${target} not reset: ${(e as Error).message}` });
      return;
    }
    replyTo(this.bus, msg, { accepted: true, message: `flap budget of ${playbook} on ${target} reset${was ? ' (it was exhausted)' : ''}` });
  }

  /** Resolves when no run is active. */
  whenIdle(): Promise<void> {
    if (this.#active.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const f = () => {
        this.#idle.delete(f);
        resolve();
      };
      this.#idle.add(f);
    });
  }
}
