import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';
import type { TargetDriver, TargetExit, TargetStatus } from './driver.js';
import { TargetError, TargetNotRunningError } from './errors.js';
import { processTree, readProc } from './process-tree.js';

export interface ProcessSpec {
  name: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  healthUrl?: string;
  stopGraceMs: number;
  critical: boolean;
  protected: boolean;
}

/**
 * Runs one local program as a target. The child leads its own process group, so stop and
 * restart reach its whole tree; exits are learned from the child's `exit` event.
 */
export class ProcessDriver implements TargetDriver {
  #child: ChildProcess | null = null;
  #exited: Promise<void> = Promise.resolve();
  #stopping = false;
  #restarts = 0;
  #startedAt?: string;
  #lastExit?: TargetStatus['lastExit'];
  #listeners = new Set<(e: TargetExit) => void>();
  #lock: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly spec: ProcessSpec,
    private readonly log: Logger,
  ) {}

  get name() {
    return this.spec.name;
  }
  get healthUrl() {
    return this.spec.healthUrl;
  }
  get critical() {
    return this.spec.critical;
  }
  get protected() {
    return this.spec.protected;
  }

  /** Serialises start/stop/restart so two callers never race on one child. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#lock.then(fn, fn);
    this.#lock = next.catch(() => undefined);
    return next;
  }

  start(): Promise<void> {
    return this.#serial(() => this.#start());
  }
  stop(): Promise<void> {
    return this.#serial(() => this.#stop());
  }
  restart(): Promise<void> {
    return this.#serial(async () => {
      await this.#stop();
      this.#restarts++;
      await this.#start();
    });
  }

  async #start(): Promise<void> {
    if (this.#child) return;
    const child = spawn(this.spec.command, this.spec.args, {
      cwd: this.spec.cwd,
      env: { ...process.env, ...this.spec.env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (err) =>
        reject(new TargetError('TARGET_START_FAILED', `target "${this.name}": cannot start ${this.spec.command}: ${err.message}`, { cause: err })),
      );
    });
    this.#child = child;
    this.#startedAt = new Date().toISOString();
    const pid = child.pid!;
    const tlog = this.log.child({ target: this.name, pid });
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) createInterface({ input: stream }).on('line', (line) => tlog.debug({ out: line }, 'target output'));
    }
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        const expected = this.#stopping;
        this.#child = null;
        this.#lastExit = { code, signal, at: new Date().toISOString() };
        tlog[expected ? 'info' : 'warn']({ code, signal }, expected ? 'target stopped' : 'target exited');
        for (const l of this.#listeners) l({ name: this.name, pid, code, signal, expected });
        resolve();
      });
    });
    tlog.info('target started');
  }

  async #stop(): Promise<void> {
    const child = this.#child;
    if (!child?.pid) return;
    this.#stopping = true;
    try {
      const pid = child.pid;
      // A frozen (SIGSTOPped) process only sees SIGTERM once continued.
      this.#killGroup(pid, 'SIGTERM');
      this.#killGroup(pid, 'SIGCONT');
      const timer = setTimeout(() => this.#killGroup(pid, 'SIGKILL'), this.spec.stopGraceMs);
      await this.#exited;
      clearTimeout(timer);
      // Leave no stragglers of the group behind.
      this.#killGroup(pid, 'SIGKILL');
    } finally {
      this.#stopping = false;
    }
  }

  #killGroup(pid: number, sig: NodeJS.Signals): void {
    try {
      process.kill(-pid, sig);
    } catch {
      /* group already gone */
    }
  }

  signal(sig: NodeJS.Signals, opts: { group?: boolean } = {}): void {
    const pid = this.#child?.pid;
    if (!pid) throw new TargetNotRunningError(this.name);
    if (opts.group) this.#killGroup(pid, sig);
    else process.kill(pid, sig);
  }

  pids(): number[] {
    const pid = this.#child?.pid;
    if (!pid) return [];
    return processTree(pid);
  }

  status(): TargetStatus {
    const pid = this.#child?.pid;
    return {
      name: this.name,
      running: Boolean(pid && readProc(pid)),
      pid,
      startedAt: this.#startedAt,
      restarts: this.#restarts,
      lastExit: this.#lastExit,
    };
  }

  onExit(listener: (exit: TargetExit) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
