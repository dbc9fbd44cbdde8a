/**
 * The crash drill: real processes killed by signal on a real nats-server. Used by the fault tests
 * (cli/crash.test.ts) and by the SIGKILL benchmark (bench/crash.ts).
 *
 * A drill event starts the `crash-drill` playbook: two `notify.send` steps, each POSTing to a
 * local webhook that answers slowly (so an action is in flight when a process is killed). The
 * webhook counts what it received: a message POSTed twice is a duplicated action.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { BusClient } from '../bus/index.js';
import { EnvelopeSchema, newId, publishDurable, type Credentials, type Envelope, type ManagedNatsServer } from '../bus/index.js';
import type { Settings } from '../config/index.js';
import { componentEnv } from '../stack/index.js';

/** The playbook every drill runs. `timeout` and `attempts` shape the handler-kill case. */
export function drillPlaybook(opts: { timeout?: string; attempts?: number } = {}): string {
  const retry = opts.attempts ? `\n    retry: { attempts: ${opts.attempts}, interval: 100ms }` : '';
  return `name: crash-drill
description: Two slow notifications per drill event; each must be sent exactly once.
priority: 10
on:
  event: events.drill.fault
steps:
  - id: first
    action: notify.send
    with: { message: "first {{ event.data.n }}", severity: info }
    timeout: ${opts.timeout ?? '10s'}${retry}
  - id: second
    action: notify.send
    with: { message: "second {{ event.data.n }}", severity: info }
    timeout: ${opts.timeout ?? '10s'}${retry}
`;
}

/** A local webhook speaking plain HTTP: counts POSTed messages, answers after `delayMs` (or never, when `hang`). */
export class DrillWebhook {
  readonly received = new Map<string, number>();
  delayMs = 300;
  hang = false;
  #server: Server;
  #waiters: { message: string; resolve: () => void }[] = [];
  #held: (() => void)[] = [];
  url = '';

  private constructor() {
    this.#server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const message = (JSON.parse(body) as { message: string }).message;
        this.received.set(message, (this.received.get(message) ?? 0) + 1);
        for (const w of this.#waiters.filter((x) => x.message === message)) w.resolve();
        this.#waiters = this.#waiters.filter((x) => x.message !== message);
        const answer = () => res.writeHead(200).end('ok');
        if (this.hang) this.#held.push(answer);
        else setTimeout(answer, this.delayMs);
      });
    });
  }

  static async start(): Promise<DrillWebhook> {
    const w = new DrillWebhook();
    await new Promise<void>((r) => w.#server.listen(0, '127.0.0.1', r));
    const a = w.#server.address();
    w.url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/hook`;
    return w;
  }

  count(message: string): number {
    return this.received.get(message) ?? 0;
  }

  /** Resolves when `message` is POSTed (at once if it already was). */
  posted(message: string, timeoutMs = 15_000): Promise<void> {
    if (this.count(message)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`webhook never received "${message}"`)), timeoutMs);
      this.#waiters.push({ message, resolve: () => (clearTimeout(t), resolve()) });
    });
  }

  async close(): Promise<void> {
    for (const a of this.#held) a();
    this.#server.closeAllConnections();
    await new Promise((r) => this.#server.close(r));
  }
}

/** One run phase seen on `runs.>`. */
export interface SeenPhase {
  runId: string;
  phase: string;
  data: { eventId?: string; step?: string; status?: string; reason?: string; detail?: Record<string, unknown> };
}

/** Watches `runs.>` and heartbeats as the operator. */
export class DrillObserver {
  readonly phases: SeenPhase[] = [];
  #waiters = new Set<() => void>();
  readonly beats = new Map<string, number>();

  constructor(readonly bus: BusClient) {
    bus.nc.subscribe('runs.>', { callback: (_e, m) => this.#record(m.subject, m.string()) });
    bus.nc.subscribe('heartbeat.*', { callback: (_e, m) => this.#beat(m.subject.split('.')[1]!, m.string()) });
  }

  #record(subject: string, raw: string): void {
    const e = EnvelopeSchema.safeParse(JSON.parse(raw));
    if (!e.success) return;
    const [, runId, phase] = subject.split('.');
    this.phases.push({ runId: runId!, phase: phase!, data: e.data.data as SeenPhase['data'] });
    for (const w of [...this.#waiters]) w();
  }

  #beat(component: string, raw: string): void {
    const e = EnvelopeSchema.safeParse(JSON.parse(raw));
    const pid = e.success ? (e.data.data as { pid?: number }).pid : undefined;
    if (pid) this.beats.set(`${component}:${pid}`, Date.now());
    for (const w of [...this.#waiters]) w();
  }

  /** Resolves when `pred` holds (checked on every message); rejects after `timeoutMs`. */
  until(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const w = () => {
        if (!pred()) return;
        clearTimeout(t);
        this.#waiters.delete(w);
        resolve();
      };
      const t = setTimeout(() => {
        this.#waiters.delete(w);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.#waiters.add(w);
    });
  }

  ends(eventId: string): SeenPhase[] {
    return this.phases.filter((p) => p.data.eventId === eventId && ['resolved', 'failed', 'stopped'].includes(p.phase));
  }

  /** The runs (one `started` each; a run resumed from the journal announces itself again) started for the event. */
  started(eventId: string): string[] {
    return [...new Set(this.phases.filter((p) => p.data.eventId === eventId && p.phase === 'started').map((p) => p.runId))];
  }
}

/** A component (`engine` or `handler`) running as its own `homeostat` process. */
export class DrillProcess {
  stderr = '';
  readonly exited: Promise<void>;

  constructor(
    readonly child: ChildProcess,
    readonly kind: string,
  ) {
    child.stderr?.on('data', (b: Buffer) => (this.stderr = (this.stderr + b.toString()).slice(-64_000)));
    this.exited = new Promise((r) => child.once('exit', () => r()));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resolves once the process beats on `heartbeat.<kind>` (it is serving). */
  async ready(observer: DrillObserver, timeoutMs = 15_000): Promise<this> {
    let dead = false;
    void this.exited.then(() => (dead = true));
    await observer.until(() => dead || observer.beats.has(`${this.kind}:${this.pid}`), timeoutMs, `${this.kind} ${this.pid} to beat`);
    if (dead) throw new Error(`${this.kind} exited at start: ${this.stderr.slice(-2000)}`);
    return this;
  }

  async kill(signal: NodeJS.Signals): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill(signal);
    await this.exited;
  }
}

/** Starts `homeostat <kind>` logged in with `creds`. */
export function spawnComponent(settings: Readonly<Settings>, kind: 'engine' | 'handler', creds: Credentials, args: string[] = [], env: Record<string, string> = {}): DrillProcess {
  const child = spawn(process.execPath, [join(settings.root, 'dist', 'cli', 'main.js'), kind, ...args], {
    env: componentEnv(creds, { LOG_LEVEL: process.env.DRILL_LOG_LEVEL ?? 'warn', ...env }),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return new DrillProcess(child, kind);
}

/** Writes the drill playbook into `dir/playbooks` and returns that directory. */
export function writeDrillPlaybooks(dir: string, opts: Parameters<typeof drillPlaybook>[0] = {}): string {
  const pbDir = join(dir, `playbooks-${newId().slice(0, 8)}`);
  mkdirSync(pbDir, { recursive: true });
  writeFileSync(join(pbDir, 'crash-drill.yaml'), drillPlaybook(opts));
  return pbDir;
}

/** Publishes drill event `n` durably (the stream acknowledged it); returns its envelope. */
export async function emitDrillEvent(monitor: BusClient, n: number): Promise<Envelope<{ n: number }>> {
  const r = await publishDurable(monitor, 'events.drill.fault', 'drill.fault', { n }, { target: `drill-${n}` });
  return r.envelope;
}

/** Where the SIGKILL drill kills the engine. */
export type KillPoint = 'after_event' | 'first_action' | 'second_action';
export const KILL_POINTS: readonly KillPoint[] = ['first_action', 'second_action', 'after_event'];

export interface SigkillOutcome {
  n: number;
  killPoint: KillPoint;
  /** POSTs beyond the first, over the run's two messages. */
  duplicated: number;
  /** The run never reached a final phase. */
  unfinished: boolean;
  /** Final phases seen for the event (1 when it completed once). */
  ends: number;
  /** Distinct runs announced on `runs.<id>.started` for the event (1: the restarted engine resumed the run, which announced itself, rather than starting another). */
  starts: number;
  /** Steps the resumed run answered from the handler's idempotency record. */
  phase?: string;
  elapsedMs: number;
}

export interface SigkillDrillDeps {
  settings: Readonly<Settings>;
  nats: ManagedNatsServer;
  monitor: BusClient;
  observer: DrillObserver;
  webhook: DrillWebhook;
  playbooks: string;
  log: Logger;
  /** Engine's event ack wait (ms): how soon an event a killed engine never acknowledged is redelivered. */
  ackWaitMs?: number;
}

/**
 * One SIGKILL repetition: start an engine process, emit drill event `n`, SIGKILL the engine at
 * `killPoint`, start a new engine, wait for the run to end, stop the engine and count.
 */
export async function sigkillDrill(d: SigkillDrillDeps, n: number, killPoint: KillPoint, timeoutMs = 20_000): Promise<SigkillOutcome> {
  const started = performance.now();
  const args = ['--playbooks', d.playbooks, '--ack-wait', String(d.ackWaitMs ?? 2000)];
  const creds = d.nats.credentials('engine');
  const first = await spawnComponent(d.settings, 'engine', creds, args).ready(d.observer);
  const env = await emitDrillEvent(d.monitor, n);
  if (killPoint === 'after_event') await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 30)));
  else await d.webhook.posted(`${killPoint === 'first_action' ? 'first' : 'second'} ${n}`);
  await first.kill('SIGKILL');
  const second = await spawnComponent(d.settings, 'engine', creds, args).ready(d.observer);
  let unfinished = false;
  try {
    await d.observer.until(() => d.observer.ends(env.id).length > 0, timeoutMs, `the run of drill event ${n} to end`);
  } catch {
    unfinished = true;
  }
  await second.kill('SIGTERM');
  await d.observer.bus.flush();
  const count = (m: string) => d.webhook.count(m);
  const duplicated = Math.max(0, count(`first ${n}`) - 1) + Math.max(0, count(`second ${n}`) - 1);
  const ends = d.observer.ends(env.id);
  return { n, killPoint, duplicated, unfinished, ends: ends.length, starts: d.observer.started(env.id).length, phase: ends[0]?.phase, elapsedMs: performance.now() - started };
}
