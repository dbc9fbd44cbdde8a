import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';
import type { ExecOptions, ExecResult, LogLine, TargetDriver, TargetStateChange, TargetStatus } from './driver.js';
import { TargetError, TargetNotRunningError } from './errors.js';
import { processTree, readProc } from './process-tree.js';
import { runBounded } from './bounded-exec.js';

export interface ProcessSpec {
  name: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  stopGraceMs: number;
  critical: boolean;
  protected: boolean;
  /** Where `<name>.pid` is written while the target runs (JSON: pid, startTime, startedAt). */
  pidDir?: string;
  /** Lines of stdout/stderr kept for `logs()` (default 500). */
  logLines?: number;
}

/** The pid file a process target keeps while it runs: read by the chaos agent and by a later `up`. */
export interface TargetPidFile {
  pid: number;
  /** The process's start time in clock ticks since boot (/proc/<pid>/stat), so a reused pid is never mistaken for it. */
  startTime: number;
  startedAt: string;
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
  #startedMs = 0;
  #lastExit?: TargetStatus['lastExit'];
  #startError?: string;
  #listeners = new Set<(e: TargetStateChange) => void>();
  #lock: Promise<unknown> = Promise.resolve();
  #logs: LogLine[] = [];

  constructor(
    private readonly spec: ProcessSpec,
    private readonly log: Logger,
  ) {}

  get name() {
    return this.spec.name;
  }
  get critical() {
    return this.spec.critical;
  }
  get protected() {
    return this.spec.protected;
  }
  /** The pid file's path, when the driver keeps one. */
  get pidFile(): string | undefined {
    return this.spec.pidDir ? join(this.spec.pidDir, `${this.spec.name}.pid`) : undefined;
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

  #emit(change: TargetStateChange): void {
    for (const l of this.#listeners) {
      try {
        l(change);
      } catch (e) {
        this.log.error({ err: e, target: this.name }, 'target state listener failed');
      }
    }
  }

  async #start(): Promise<void> {
    if (this.#child) return;
    const child = spawn(this.spec.command, this.spec.args, {
      cwd: this.spec.cwd,
      env: { ...process.env, ...this.spec.env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
    } catch (e) {
      const error = `cannot start ${this.spec.command}: ${(e as Error).message}`;
      this.#startError = error;
      this.log.warn({ target: this.name, error }, 'target could not be started');
      this.#emit({ kind: 'start_failed', error, restarts: this.#restarts, at: Date.now() });
      throw new TargetError('TARGET_START_FAILED', `target "${this.name}": ${error}`, { cause: e });
    }
    this.#child = child;
    this.#startError = undefined;
    this.#startedMs = Date.now();
    this.#startedAt = new Date(this.#startedMs).toISOString();
    const pid = child.pid!;
    const tlog = this.log.child({ target: this.name, pid });
    for (const [stream, name] of [[child.stdout, 'stdout'], [child.stderr, 'stderr']] as const) {
      if (stream)
        createInterface({ input: stream }).on('line', (line) => {
          this.#keepLine(name, line);
          tlog.debug({ out: line }, 'target output');
        });
    }
    this.#writePidFile(pid);
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        const expected = this.#stopping;
        const at = Date.now();
        this.#child = null;
        this.#removePidFile();
        // the target is its process group: no straggler outlives its main process (it would hold ports on restart)
        killGroup(pid, 'SIGKILL');
        this.#lastExit = { code, signal, at: new Date(at).toISOString() };
        tlog[expected ? 'info' : 'warn']({ code, signal }, expected ? 'target stopped' : 'target exited');
        this.#emit({ kind: 'exited', pid, code, signal, expected, uptimeMs: at - this.#startedMs, restarts: this.#restarts, at });
        resolve();
      });
    });
    tlog.info('target started');
    this.#emit({ kind: 'started', pid, at: this.#startedMs, restarts: this.#restarts });
  }

  #keepLine(stream: LogLine['stream'], line: string): void {
    this.#logs.push({ at: Date.now(), stream, line: line.length > 4096 ? `${line.slice(0, 4096)}…` : line });
    const max = this.spec.logLines ?? 500;
    if (this.#logs.length > max) this.#logs.splice(0, this.#logs.length - max);
  }

  #writePidFile(pid: number): void {
    const file = this.pidFile;
    if (!file) return;
    try {
      mkdirSync(this.spec.pidDir!, { recursive: true, mode: 0o700 });
      const body: TargetPidFile = { pid, startTime: readProc(pid)?.startTime ?? 0, startedAt: this.#startedAt! };
      writeFileSync(file, `${JSON.stringify(body)}\n`, { mode: 0o600 });
    } catch (e) {
      this.log.warn({ err: e, target: this.name }, 'cannot write the pid file');
    }
  }

  #removePidFile(): void {
    if (this.pidFile) rmSync(this.pidFile, { force: true });
  }

  async #stop(): Promise<void> {
    const child = this.#child;
    if (!child?.pid) return;
    this.#stopping = true;
    try {
      const pid = child.pid;
      // A frozen (SIGSTOPped) process only sees SIGTERM once continued.
      killGroup(pid, 'SIGTERM');
      killGroup(pid, 'SIGCONT');
      const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), this.spec.stopGraceMs);
      await this.#exited;
      clearTimeout(timer);
      // Leave no stragglers of the group behind.
      killGroup(pid, 'SIGKILL');
    } finally {
      this.#stopping = false;
    }
  }

  async signal(sig: NodeJS.Signals, opts: { group?: boolean } = {}): Promise<void> {
    const pid = this.#child?.pid;
    if (!pid) throw new TargetNotRunningError(this.name);
    if (opts.group) killGroup(pid, sig);
    else process.kill(pid, sig);
  }

  async pids(): Promise<number[]> {
    const pid = this.#child?.pid;
    return pid ? processTree(pid) : [];
  }

  async status(): Promise<TargetStatus> {
    const pid = this.#child?.pid;
    return {
      name: this.name,
      running: Boolean(pid && readProc(pid)),
      pid,
      startedAt: this.#startedAt,
      restarts: this.#restarts,
      lastExit: this.#lastExit,
      startError: this.#startError,
    };
  }

  /** Runs `argv` with the target's working directory and environment, without a shell. */
  exec(argv: readonly string[], opts: ExecOptions): Promise<ExecResult> {
    return runBounded(argv, { ...opts, cwd: this.spec.cwd, env: { ...process.env, ...this.spec.env } });
  }

  async logs(opts: { since?: number; tail?: number } = {}): Promise<LogLine[]> {
    let out = opts.since === undefined ? this.#logs : this.#logs.filter((l) => l.at >= opts.since!);
    if (opts.tail !== undefined) out = out.slice(-opts.tail);
    return out.map((l) => ({ ...l }));
  }

  onState(listener: (change: TargetStateChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

function killGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    /* group already gone */
  }
}
