import type { Msg } from '@nats-io/transport-node';
import { ActionRequestData, EnvelopeSchema, subjects, type BusClient, type Envelope, type RunPhaseData } from '../bus/index.js';
import { ACTION_REGISTRY } from '../handlers/index.js';
import { parsePlaybook, PlaybookEngine, type ActionTraits, type EngineOptions, type LoadedPlaybook } from '../playbooks/index.js';
import type { TestContext } from './setup.js';

/** Actions the test remediator answers: the registry's (with their default risk; probes by request/reply) and test ones. */
export const TEST_ACTIONS: readonly (string | ActionTraits)[] = [...ACTION_REGISTRY, 'test.fix', 'test.probe', 'test.undo', 'test.other'];
/** The names of {@link TEST_ACTIONS}. */
export const TEST_ACTION_NAMES: readonly string[] = TEST_ACTIONS.map((a) => (typeof a === 'string' ? a : a.name));

/** What the test remediator answers to one request; `silent` sends no result (the engine times out). */
export type Answer =
  | { status: 'ok' | 'failed' | 'refused'; result?: Record<string, unknown>; error?: string; stdout?: string; stderr?: string; exitCode?: number; command?: string; healthBefore?: number; healthAfter?: number }
  | 'silent';

/** One message seen on `runs.>` or `events.playbook.>`. */
export interface Seen {
  subject: string;
  env: Envelope<Record<string, unknown>>;
}

export interface EngineHarness {
  engine: PlaybookEngine;
  monitor: BusClient;
  operator: BusClient;
  /** Every action request the test remediator received, in order. */
  requests: ActionRequestData[];
  /** Replaces how the remediator answers. */
  answer(fn: (req: ActionRequestData, nth: number) => Answer | Promise<Answer>): void;
  /** Publishes an event as a monitor and waits until the server has it. */
  emit(subject: string, target: string | undefined, data?: Record<string, unknown>): Promise<Envelope<unknown>>;
  /** Resolves with the first message (seen so far or later) that satisfies `pred`. */
  until(pred: (s: Seen) => boolean, timeoutMs?: number): Promise<Seen>;
  /** Resolves with the final phase (`resolved`, `failed`, `stopped`) of the next run to end, or of `runId`. */
  runEnd(runId?: string, timeoutMs?: number): Promise<Seen & { phase: string; data: RunPhaseData }>;
  /** Resolves with the final phase of the `nth` run (1-based) to end on `target`. */
  endFor(target: string, nth?: number, timeoutMs?: number): Promise<Seen & { phase: string; data: RunPhaseData }>;
  seen: Seen[];
}

/** Playbooks from YAML texts, checked against {@link TEST_ACTIONS}. */
export function playbooks(...yamls: string[]): LoadedPlaybook[] {
  return yamls.map((y, i) => parsePlaybook(`test-${i}.yaml`, y, { actions: TEST_ACTIONS }));
}

/**
 * A real engine on the test nats-server, with a test remediator on `actions.>` that records each
 * request and answers as the test says (default: ok with an empty result).
 */
export async function engineHarness(ctx: TestContext, pbs: LoadedPlaybook[], extra: Partial<EngineOptions> = {}): Promise<EngineHarness> {
  const engineBus = await ctx.connect('engine');
  const handler = await ctx.connect('handler');
  const monitor = await ctx.connect('monitor');
  const operator = await ctx.connect('operator');
  const requests: ActionRequestData[] = [];
  let answerFn: (req: ActionRequestData, nth: number) => Answer | Promise<Answer> = () => ({ status: 'ok' });
  const remediate = async (env: Envelope<ActionRequestData>, msg: Msg) => {
    const req = env.data;
    requests.push(req);
    const a = await answerFn(req, requests.filter((r) => r.action === req.action).length);
    if (a === 'silent') return;
    const result = {
      actionId: req.actionId,
      action: req.action,
      status: a.status,
      durationMs: 1,
      result: a.result ?? {},
      ...(a.error ? { error: { code: 'TEST', message: a.error } } : {}),
      ...(a.stdout !== undefined ? { stdout: a.stdout } : {}),
      ...(a.stderr !== undefined ? { stderr: a.stderr } : {}),
      ...(a.exitCode !== undefined ? { exitCode: a.exitCode } : {}),
      ...(a.command !== undefined ? { command: a.command } : {}),
      ...(a.healthBefore !== undefined ? { healthBefore: a.healthBefore } : {}),
      ...(a.healthAfter !== undefined ? { healthAfter: a.healthAfter } : {}),
    };
    // probes come by request/reply (`actions.<family>.<verb>.probe`), the others on `results.<actionId>`
    if (!handler.respond(msg, 'action.result', result)) handler.publish(subjects.result(req.actionId), 'action.result', result);
  };
  handler.subscribe(subjects.actionsDurable, ActionRequestData, remediate);
  handler.subscribe('actions.*.*.probe', ActionRequestData, remediate);
  const seen: Seen[] = [];
  const waiters = new Set<(s: Seen) => void>();
  const record = (subject: string, raw: string) => {
    const e = EnvelopeSchema.safeParse(JSON.parse(raw));
    if (!e.success) return;
    const s = { subject, env: e.data as Envelope<Record<string, unknown>> };
    seen.push(s);
    for (const w of [...waiters]) w(s);
  };
  for (const pattern of ['runs.>', 'events.playbook.>']) operator.nc.subscribe(pattern, { callback: (_err, msg) => record(msg.subject, msg.string()) });
  const engine = new PlaybookEngine({ bus: engineBus, playbooks: pbs, log: ctx.log, ...extra });
  engine.start();
  await Promise.all([engineBus.flush(), handler.flush(), operator.flush()]);

  const until = (pred: (s: Seen) => boolean, timeoutMs = 10_000) =>
    new Promise<Seen>((resolve, reject) => {
      const hit = seen.find(pred);
      if (hit) return resolve(hit);
      const timer = setTimeout(() => {
        waiters.delete(w);
        reject(new Error(`no matching message within ${timeoutMs} ms; seen: ${seen.map((s) => s.subject).join(', ')}`));
      }, timeoutMs);
      const w = (s: Seen) => {
        if (!pred(s)) return;
        clearTimeout(timer);
        waiters.delete(w);
        resolve(s);
      };
      waiters.add(w);
    });

  return {
    engine,
    monitor,
    operator,
    requests,
    seen,
    answer(fn) {
      answerFn = fn;
    },
    async emit(subject, target, data = {}) {
      const env = monitor.publish(subject, subject, data, target ? { target } : {});
      await monitor.flush();
      return env;
    },
    until,
    async endFor(target, nth = 1, timeoutMs) {
      const isEnd = (x: Seen) => x.subject.startsWith('runs.') && ['resolved', 'failed', 'stopped'].includes(x.subject.split('.')[2] ?? '') && x.env.data.target === target;
      const s = await until((x) => isEnd(x) && seen.filter(isEnd).indexOf(x) === nth - 1, timeoutMs);
      return { ...s, phase: s.subject.split('.')[2]!, data: s.env.data as unknown as RunPhaseData };
    },
    async runEnd(runId, timeoutMs) {
      const s = await until((x) => {
        const [, id, phase] = x.subject.split('.');
        return x.subject.startsWith('runs.') && ['resolved', 'failed', 'stopped'].includes(phase ?? '') && (!runId || id === runId);
      }, timeoutMs);
      return { ...s, phase: s.subject.split('.')[2]!, data: s.env.data as unknown as RunPhaseData };
    },
  };
}

/** The phases of one run seen so far, in order, as `phase` or `phase:step:status`. */
export function phasesOf(h: EngineHarness, runId: string): string[] {
  return h.seen
    .filter((s) => s.subject.startsWith(`runs.${runId}.`))
    .map((s) => {
      const phase = s.subject.split('.')[2]!;
      const d = s.env.data as { step?: string; status?: string };
      return phase === 'step' ? `step:${d.step}:${d.status}` : phase;
    });
}
