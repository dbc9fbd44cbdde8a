import type { Msg } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { z } from 'zod';
import { BudgetResetData, newId, subjects, type BudgetExhaustedData, type BusClient, type Envelope } from '../bus/index.js';
import { ApprovalGate, replyTo } from './approval-gate.js';
import type { LoadedPlaybook } from './loader.js';
import { sendNotification } from './notifier.js';
import { RunExecutor } from './run-executor.js';
import type { RunRecord } from './run-record.js';
import { TriggerGate } from './trigger-gate.js';

export interface EngineOptions {
  bus: BusClient;
  playbooks: LoadedPlaybook[];
  log: Logger;
  /** The action that carries notifications (stops, exhausted flap budgets). Default `notify.send`. */
  notifyAction?: string;
  /** Finished runs kept in memory for {@link PlaybookEngine.runs}. Default 1000. */
  keepRuns?: number;
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
}

/**
 * The playbook engine: matches `events.>` to playbooks (priority decides), applies dedupe,
 * cooldown and flap budgets, keeps one run per target (a matching event for a target with an
 * active run is attached to it and counted), and drives each run with a {@link RunExecutor}.
 * Operators approve gated steps on `approvals.<runId>` and lift flap budgets on
 * `approvals.budget.reset`.
 */
export class PlaybookEngine {
  readonly #active = new Map<string, RunRecord>();
  readonly #runs: RunRecord[] = [];
  readonly #idle = new Set<() => void>();
  readonly #gate: TriggerGate;
  readonly #approvals: ApprovalGate;
  readonly #notifyAction: string;
  readonly #keepRuns: number;
  #playbooks: LoadedPlaybook[];
  readonly stats: EngineStats = { events: 0, matched: 0, started: 0, attached: 0, deduplicated: 0, cooldown: 0, budgetRefused: 0 };
  readonly bus: BusClient;
  readonly log: Logger;

  constructor(opts: EngineOptions) {
    this.bus = opts.bus;
    this.#playbooks = opts.playbooks;
    this.log = opts.log;
    this.#notifyAction = opts.notifyAction ?? 'notify.send';
    this.#keepRuns = opts.keepRuns ?? 1000;
    this.#gate = new TriggerGate(opts.playbooks);
    this.#approvals = new ApprovalGate(opts.bus, opts.log);
  }

  /** Subscribes to events (queue group `engine`), approvals and budget resets. */
  start(): void {
    this.bus.subscribe(subjects.eventsAll, z.unknown(), (env) => this.handleEvent(env), { queue: 'engine' });
    this.#approvals.start();
    this.bus.subscribe(subjects.budgetReset, BudgetResetData, (env, msg) => this.#onBudgetReset(env, msg), { acceptBare: true });
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

  handleEvent(env: Envelope<unknown>): void {
    this.stats.events++;
    const sel = this.#gate.select(env);
    const pb = sel.chosen;
    if (!pb) return;
    this.stats.matched++;
    const target = env.target ?? '_global';
    const active = this.#active.get(target);
    if (active) {
      active.attached++;
      this.stats.attached++;
      return;
    }
    const now = Date.now();
    const adm = this.#gate.admit(pb, env, target, now);
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
        if (sel.candidates.length > 1) this.log.info({ ...fields, candidates: sel.candidates }, 'several playbooks match; highest priority chosen');
        this.#start(pb, env, target, now);
    }
  }

  #start(pb: LoadedPlaybook, env: Envelope<unknown>, target: string, now: number): void {
    const run: RunRecord = { runId: newId(), playbook: pb.playbook.name, target, eventId: env.id, status: 'running', startedAt: now, steps: [], attached: 0 };
    this.stats.started++;
    this.#active.set(target, run);
    this.#runs.push(run);
    if (this.#runs.length > this.#keepRuns) this.#runs.shift();
    const exec = new RunExecutor({ bus: this.bus, approvals: this.#approvals, log: this.log, notifyAction: this.#notifyAction }, pb, run, env);
    void exec.execute().finally(() => {
      this.#active.delete(target);
      this.#gate.ended(pb, target, Date.now());
      if (this.#active.size === 0) for (const f of [...this.#idle]) f();
    });
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
  resetBudget(playbook: string, target: string, by?: string): boolean {
    const was = this.#gate.resetBudget(playbook, target);
    this.log.info({ playbook, target, by, wasExhausted: was }, 'flap budget reset');
    this.bus.publish(subjects.event('playbook', 'budget_reset'), 'playbook.budget_reset', { playbook, target, by, wasExhausted: was }, target === '_global' ? {} : { target });
    return was;
  }

  #onBudgetReset(env: Envelope<BudgetResetData>, msg: Msg): void {
    const { playbook, target, by } = env.data;
    if (!this.#playbooks.some((p) => p.playbook.name === playbook)) {
      replyTo(this.bus, msg, { accepted: false, message: `no playbook "${playbook}" (known: ${this.#playbooks.map((p) => p.playbook.name).join(', ')})` });
      return;
    }
    const was = this.resetBudget(playbook, target, by);
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
