import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { TargetCpuSpikeData } from '../bus/index.js';

const BURNER = join(dirname(fileURLToPath(import.meta.url)), 'cpu-burner.js');

/**
 * The demo worker's side of `chaos.cpu_spike`: busy child processes started inside the worker's
 * own process tree (and process group), stopped after their time, and killed when the worker exits.
 */
export class CpuSpikes {
  readonly #children = new Set<ChildProcess>();
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(private readonly log: Logger) {}

  /** Starts `workers` busy children for `seconds`; returns their pids. */
  async start(d: TargetCpuSpikeData): Promise<number[]> {
    const started = await Promise.all(Array.from({ length: d.workers }, () => this.#spawn(d.seconds)));
    const pids = started.flatMap((c) => (c.pid ? [c.pid] : []));
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      for (const c of started) c.kill('SIGKILL');
    }, d.seconds * 1000);
    this.#timers.add(timer);
    this.log.warn({ pids, seconds: d.seconds }, 'cpu spike: busy children started');
    return pids;
  }

  async #spawn(seconds: number): Promise<ChildProcess> {
    const child = spawn(process.execPath, [BURNER, String(seconds)], { stdio: 'ignore' });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    this.#children.add(child);
    child.once('exit', (code, signal) => {
      this.#children.delete(child);
      this.log.info({ pid: child.pid, code, signal }, 'cpu spike: busy child exited');
    });
    return child;
  }

  /** Pids of the busy children still running. */
  get pids(): number[] {
    return [...this.#children].flatMap((c) => (c.pid ? [c.pid] : []));
  }

  /** Kills every busy child (on worker exit). */
  stopAll(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const c of this.#children) c.kill('SIGKILL');
  }
}
