import type { Logger } from 'pino';
import { z } from 'zod';
import {
  ActionResultData,
  newId,
  subjectMatches,
  subjects,
  type BusClient,
  type Envelope,
  type RunPhase,
} from '../bus/index.js';
import { RequestTimeoutError } from '../bus/index.js';
import { StepFailedError } from './errors.js';
import { evaluateBool } from './expression.js';
import type { LoadedPlaybook } from './loader.js';
import type { Step } from './schema.js';
import { render } from './template.js';

export type RunStatus = 'running' | 'resolved' | 'failed' | 'stopped';

export interface StepRecord {
  id: string;
  status: 'ok' | 'failed';
  result: Record<string, unknown>;
  attempts: number;
  durationMs: number;
  error?: string;
}

export interface RunRecord {
  runId: string;
  playbook: string;
  target: string;
  eventId: string;
  status: RunStatus;
  startedAt: number;
  endedAt?: number;
  steps: StepRecord[];
  /** Matching events that arrived while this run was active and were attached to it. */
  attached: number;
  reason?: string;
}

export interface EngineOptions {
  bus: BusClient;
  playbooks: LoadedPlaybook[];
  log: Logger;
}

/**
 * The playbook engine: matches `events.>` to playbooks, keeps one run per target, and drives
 * steps through the bus (actions on `actions.*`, results on `results.*`), publishing
 * `runs.<runId>.<phase>` as it goes.
 */
export class PlaybookEngine {
  readonly #active = new Map<string, RunRecord>();
  readonly #runs: RunRecord[] = [];
  readonly #idle = new Set<() => void>();
  #playbooks: LoadedPlaybook[];
  readonly bus: BusClient;
  readonly log: Logger;

  constructor(opts: EngineOptions) {
    this.bus = opts.bus;
    this.#playbooks = opts.playbooks;
    this.log = opts.log;
  }

  start(): void {
    this.bus.subscribe(subjects.eventsAll, z.unknown(), (env) => this.handleEvent(env), { queue: 'engine' });
  }

  replacePlaybooks(playbooks: LoadedPlaybook[]): void {
    this.#playbooks = playbooks;
  }

  get runs(): readonly RunRecord[] {
    return this.#runs;
  }

  /** The playbook an event would start, highest priority first; null when none matches. */
  select(env: Envelope<unknown>): LoadedPlaybook | null {
    const subject = env.subject ?? '';
    const ctx = { event: env };
    const matches = this.#playbooks.filter((p) => {
      const on = p.playbook.on;
      if (!subjectMatches(on.event, subject)) return false;
      if (on.targets && !(env.target && on.targets.includes(env.target))) return false;
      if (p.when && !evaluateBool(p.when, ctx).value) return false;
      return true;
    });
    matches.sort((a, b) => b.playbook.priority - a.playbook.priority);
    if (matches.length > 1) {
      this.log.info({ eventId: env.id, chosen: matches[0]!.playbook.name, candidates: matches.map((m) => m.playbook.name) }, 'several playbooks match; highest priority chosen');
    }
    return matches[0] ?? null;
  }

  handleEvent(env: Envelope<unknown>): void {
    const pb = this.select(env);
    if (!pb) return;
    const target = env.target ?? '_global';
    const active = this.#active.get(target);
    if (active) {
      active.attached++;
      return;
    }
    const run: RunRecord = {
      runId: newId(),
      playbook: pb.playbook.name,
      target,
      eventId: env.id,
      status: 'running',
      startedAt: Date.now(),
      steps: [],
      attached: 0,
    };
    this.#active.set(target, run);
    this.#runs.push(run);
    if (this.#runs.length > 1000) this.#runs.shift();
    // a run cut short (e.g. the bus closed when the stack stopped) is logged, never crashes the process
    void this.#execute(pb, run, env).catch((e: unknown) => this.log.warn({ err: e, runId: run.runId }, 'run ended abnormally')).finally(() => {
      this.#active.delete(target);
      if (this.#active.size === 0) for (const f of this.#idle) f();
    });
  }

  #phase(run: RunRecord, phase: RunPhase, extra: Record<string, unknown> = {}): void {
    this.bus.publish(
      subjects.run(run.runId, phase),
      `run.${phase}`,
      { runId: run.runId, playbook: run.playbook, target: run.target, eventId: run.eventId, ...extra },
      { target: run.target },
    );
  }

  async #execute(pb: LoadedPlaybook, run: RunRecord, event: Envelope<unknown>): Promise<void> {
    const log = this.log.child({ runId: run.runId, eventId: event.id, target: run.target, playbook: run.playbook });
    log.info('run started');
    this.#phase(run, 'started');
    const stepResults: Record<string, { result: Record<string, unknown>; status: string }> = {};
    try {
      for (const step of pb.playbook.steps) {
        const ctx = { event, steps: stepResults };
        const rec = step.verify ? await this.#verify(pb, step, ctx, run, log) : await this.#action(step, ctx, run, log);
        run.steps.push(rec);
        stepResults[step.id] = { result: rec.result, status: rec.status };
        this.#phase(run, 'step', { step: step.id, status: rec.status, durationMs: rec.durationMs, reason: rec.error });
        if (rec.status !== 'ok') throw new StepFailedError(step.id, rec.error ?? 'unknown');
      }
      run.status = 'resolved';
      run.endedAt = Date.now();
      log.info({ durationMs: run.endedAt - run.startedAt }, 'run resolved');
      this.#phase(run, 'resolved', { durationMs: run.endedAt - run.startedAt });
    } catch (e) {
      run.status = 'failed';
      run.endedAt = Date.now();
      run.reason = (e as Error).message;
      log.warn({ reason: run.reason }, 'run failed');
      this.#phase(run, 'failed', { reason: run.reason, durationMs: run.endedAt - run.startedAt });
    }
  }

  async #call(action: string, params: unknown, run: RunRecord, timeoutMs: number) {
    const [family, verb] = action.split('.') as [string, string];
    const actionId = newId();
    const env = await this.bus.call(
      subjects.action(family, verb),
      actionId,
      { actionId, runId: run.runId, action, target: run.target === '_global' ? undefined : run.target, params, timeoutMs },
      ActionResultData,
      timeoutMs,
      { target: run.target },
    );
    return env.data;
  }

  async #action(step: Step, ctx: Record<string, unknown>, run: RunRecord, log: Logger): Promise<StepRecord> {
    const started = performance.now();
    const base = { id: step.id, attempts: 1 };
    try {
      const params = render(step.with, ctx);
      const res = await this.#call(step.action!, params, run, step.timeout);
      const durationMs = performance.now() - started;
      log.info({ step: step.id, status: res.status, durationMs }, 'step done');
      return { ...base, status: res.status === 'ok' ? 'ok' : 'failed', result: res.result, durationMs, error: res.error?.message };
    } catch (e) {
      const msg = e instanceof RequestTimeoutError ? `no result within ${step.timeout} ms` : (e as Error).message;
      return { ...base, status: 'failed', result: {}, durationMs: performance.now() - started, error: msg };
    }
  }

  async #verify(pb: LoadedPlaybook, step: Step, ctx: Record<string, unknown>, run: RunRecord, log: Logger): Promise<StepRecord> {
    const v = step.verify!;
    const expect = pb.expects.get(step.id)!;
    const started = performance.now();
    const deadline = Date.now() + v.within;
    let interval = v.interval;
    let attempts = 0;
    let last: Record<string, unknown> = {};
    let lastError = 'expectation never held';
    let params: unknown;
    try {
      params = render(v.with, ctx);
    } catch (e) {
      return { id: step.id, status: 'failed', result: {}, attempts: 0, durationMs: 0, error: (e as Error).message };
    }
    while (Date.now() < deadline) {
      attempts++;
      try {
        const res = await this.#call(v.probe, params, run, Math.max(100, Math.min(step.timeout, deadline - Date.now())));
        last = res.result;
        if (res.status === 'ok') {
          const r = evaluateBool(expect, { ...ctx, result: res.result });
          if (r.value) {
            const durationMs = performance.now() - started;
            log.info({ step: step.id, attempts, durationMs }, 'verified');
            return { id: step.id, status: 'ok', result: last, attempts, durationMs };
          }
          lastError = r.error ?? `expectation "${v.expect}" not met`;
        } else {
          lastError = res.error?.message ?? `probe ${res.status}`;
        }
      } catch (e) {
        lastError = (e as Error).message;
      }
      const wait = Math.min(interval, Math.max(0, deadline - Date.now()));
      if (wait <= 0) break;
      await new Promise((r) => setTimeout(r, wait));
      interval *= v.backoff;
    }
    return { id: step.id, status: 'failed', result: last, attempts, durationMs: performance.now() - started, error: `not verified within ${v.within} ms: ${lastError}` };
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
