import type Docker from 'dockerode';
import type { Logger } from 'pino';
import type { DockerTargetConfig } from './config.js';
import { HOMEOSTAT_LABEL } from './config.js';
import { DockerEngine, type ContainerEvent } from './docker-engine.js';
import { BoundedSink, parseLogFrames, readJsonFileLogTail, signalOfExitCode } from './docker-stream.js';
import type { ExecOptions, ExecResult, LogLine, TargetDriver, TargetStateChange, TargetStatus } from './driver.js';
import { TargetError, TargetNotRunningError } from './errors.js';
import { processTree } from './process-tree.js';
import { diskUsedPct, rootCauseOf } from './root-cause.js';

function statusCode(e: unknown): number | undefined {
  return (e as { statusCode?: number }).statusCode;
}

/**
 * Drives one container through the Docker Engine API. Deaths are pushed from the engine's events
 * stream (`die`, `oom`, `start`, `health_status`), never polled: the driver keeps the container's
 * last known state and emits `started` / `exited` on each transition (and `health` when the
 * container's own HEALTHCHECK changes verdict), whether the engine's event
 * or its own call saw it first. After the stream reconnects the container is inspected again and
 * a death missed meanwhile is emitted then. A container that does not exist (and has no `create`)
 * is reported as `start_failed` and looked for again every `retry`.
 */
export class DockerDriver implements TargetDriver {
  readonly #engine: DockerEngine;
  readonly #docker: Docker;
  readonly #container: string;
  readonly #log: Logger;
  #unwatch: (() => void) | null = null;
  #listeners = new Set<(e: TargetStateChange) => void>();
  #lock: Promise<unknown> = Promise.resolve();
  #running = false;
  #pid?: number;
  #startedMs = 0;
  #restarts = 0;
  #stopping = 0;
  #lastExit?: TargetStatus['lastExit'];
  #startError?: string;
  #oomAt = 0;
  #retry: NodeJS.Timeout | null = null;
  #created = false;
  #emitted: Promise<void> = Promise.resolve();
  /** The container's json-file log on this machine (from inspect), read directly for a death's root cause. */
  #logPath = '';
  /** When this driver last asked the engine to start the container (cleared once it is seen running). */
  #startRequestedAt: number | undefined;

  constructor(
    private readonly config: DockerTargetConfig,
    log: Logger,
  ) {
    this.#container = config.container ?? config.name;
    this.#log = log.child({ target: config.name, container: this.#container });
    this.#engine = DockerEngine.of(config.socket, log);
    this.#docker = this.#engine.docker;
  }

  get name() {
    return this.config.name;
  }
  get critical() {
    return this.config.critical;
  }
  get protected() {
    return this.config.protected;
  }
  /** The container's name. */
  get container(): string {
    return this.#container;
  }
  /** The main process's pid as last seen running (no engine call); undefined when it is not running. */
  get pid(): number | undefined {
    return this.#running ? this.#pid : undefined;
  }
  /** Whether the engine's events stream is connected. */
  get engineReachable(): boolean {
    return this.#engine.reachable;
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#lock.then(fn, fn);
    this.#lock = next.catch(() => undefined);
    return next;
  }

  /** Emits in order: a death's root cause is read (last logs) before it is emitted, and a start waits for it. */
  #emit(change: TargetStateChange | (() => Promise<TargetStateChange>)): void {
    this.#emitted = this.#emitted.then(async () => this.#deliver(typeof change === 'function' ? await change() : change));
  }

  #deliver(change: TargetStateChange): void {
    for (const l of this.#listeners) {
      try {
        l(change);
      } catch (e) {
        this.#log.error({ err: e }, 'target state listener failed');
      }
    }
  }

  onState(listener: (change: TargetStateChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Subscribes to the engine's events (its `since` is now, before any state is read). */
  #ensureWatch(): void {
    if (this.#unwatch) return;
    this.#unwatch = this.#engine.watch({
      container: this.#container,
      onEvent: (e) => this.#onEvent(e),
      onReachability: (ok, error) => this.#emit(ok ? { kind: 'reachable', at: Date.now() } : { kind: 'unreachable', error: error ?? 'unreachable', at: Date.now() }),
      onResync: () => void this.#resync(),
    });
  }

  #markStarted(pid: number, startedMs: number): void {
    if (this.#running && this.#pid === pid) return;
    this.#running = true;
    this.#pid = pid;
    this.#startedMs = startedMs;
    this.#startError = undefined;
    const requestedAt = this.#startRequestedAt;
    this.#startRequestedAt = undefined;
    this.#log.info({ pid }, 'container running');
    this.#emit({ kind: 'started', pid, at: startedMs, restarts: this.#restarts, ...(requestedAt !== undefined ? { requestedAt } : {}) });
  }

  #markExited(code: number | null, at: number, oomKilled: boolean): void {
    if (!this.#running) return;
    const pid = this.#pid ?? 0;
    this.#running = false;
    this.#pid = undefined;
    const expected = this.#stopping > 0;
    const oom: 'confirmed' | 'suspected' | undefined = oomKilled || this.#oomAt >= this.#startedMs ? 'confirmed' : code === 137 ? 'suspected' : undefined;
    const signal = signalOfExitCode(code);
    this.#lastExit = { code, signal, at: new Date(at).toISOString() };
    this.#log[expected ? 'info' : 'warn']({ code, oom }, expected ? 'container stopped' : 'container died');
    const change = { kind: 'exited' as const, pid, code, signal, expected, uptimeMs: Math.max(0, at - this.#startedMs), restarts: this.#restarts, at, ...(oom ? { oom } : {}) };
    if (expected) this.#emit(change);
    else this.#emit(async () => ({ ...change, cause: await this.#causeOf(code, oom) }));
  }

  /**
   * The death's root cause from the last 20 log lines and the log directory's disk use. The lines
   * are read straight from the container's json-file log when this machine can read it (about a
   * millisecond: dockerd has flushed the log before it emits `die`); otherwise the engine is asked,
   * bounded to 500 ms (a `logs` call takes 20–70 ms on a loaded machine, most of a death's detection).
   */
  async #causeOf(code: number | null, oom: 'confirmed' | 'suspected' | undefined) {
    const disk = this.config.logDir ? diskUsedPct(this.config.logDir) : null;
    const lines =
      (this.#logPath ? readJsonFileLogTail(this.#logPath, 20) : null) ??
      (await Promise.race([this.logs({ tail: 20 }).catch(() => []), new Promise<[]>((r) => setTimeout(() => r([]), 500))]));
    const { rootCause, evidence } = rootCauseOf({ code, oom }, lines, disk);
    return { rootCause, evidence, diskUsedPct: disk };
  }

  #onEvent(e: ContainerEvent): void {
    if (e.action === 'oom') this.#oomAt = e.at || Date.now();
    else if (e.action === 'die') this.#markExited(e.exitCode ?? null, Date.now(), false);
    else if (e.action === 'start') void this.#resync();
    else if (e.action === 'health_status' && this.#running && (e.health === 'healthy' || e.health === 'unhealthy')) {
      this.#log[e.health === 'healthy' ? 'info' : 'warn']({ health: e.health }, 'container health changed');
      this.#emit({ kind: 'health', status: e.health, at: e.at || Date.now() });
    }
    else if (e.action === 'destroy' && this.#running) this.#markExited(null, Date.now(), false);
  }

  /** Reads the container's state and emits the transition it shows (after a start event or a reconnect). */
  async #resync(): Promise<void> {
    try {
      const info = await this.#docker.getContainer(this.#container).inspect();
      this.#logPath = info.LogPath;
      if (info.State.Running && info.State.Pid > 0) {
        this.#markStarted(info.State.Pid, Date.parse(info.State.StartedAt) || Date.now());
        // a verdict given while the stream was away (or before it was watched) is not lost
        if (info.State.Health?.Status === 'unhealthy') this.#emit({ kind: 'health', status: 'unhealthy', at: Date.now() });
      } else if (!info.State.Running) this.#markExited(info.State.ExitCode, Date.parse(info.State.FinishedAt) || Date.now(), info.State.OOMKilled);
    } catch (e) {
      if (statusCode(e) === 404 && this.#running) this.#markExited(null, Date.now(), false);
    }
  }

  start(): Promise<void> {
    return this.#serial(() => this.#start());
  }

  async #start(): Promise<void> {
    this.#ensureWatch();
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = null;
    const c = this.#docker.getContainer(this.#container);
    try {
      // start first (304: it runs already; 404: create it), then one inspect: no inspect before
      this.#startRequestedAt = Date.now();
      await c.start().catch(async (e: unknown) => {
        if (statusCode(e) === 304) return;
        if (statusCode(e) !== 404 || !this.config.create) throw e;
        await this.#create();
        this.#startRequestedAt = Date.now();
        await c.start();
      });
      const info = await c.inspect();
      this.#logPath = info.LogPath;
      // a container that died at once is reported by its die event
      if (info.State.Running && info.State.Pid > 0) this.#markStarted(info.State.Pid, Date.parse(info.State.StartedAt) || Date.now());
    } catch (e) {
      const error =
        statusCode(e) === 404
          ? `container "${this.#container}" does not exist (looked for again every ${this.config.retry} ms)`
          : `cannot start container "${this.#container}": ${(e as Error).message}${statusCode(e) === undefined ? ` (tried again every ${this.config.retry} ms)` : ''}`;
      // reported once per failing streak, not on every retry
      if (this.#startError === undefined) {
        this.#log.warn({ error }, 'target could not be started');
        this.#emit({ kind: 'start_failed', error, restarts: this.#restarts, at: Date.now() });
      }
      this.#startError = error;
      // a missing container or an engine that does not answer may come later: look again
      if (statusCode(e) === 404 || statusCode(e) === undefined) this.#scheduleRetry();
      throw new TargetError('TARGET_START_FAILED', `target "${this.name}": ${error}`, { cause: e });
    }
  }

  #scheduleRetry(): void {
    this.#retry = setTimeout(() => {
      this.#retry = null;
      this.start().catch(() => undefined);
    }, this.config.retry);
    this.#retry.unref();
  }

  async #create(): Promise<void> {
    const k = this.config.create!;
    await this.#docker.createContainer({
      name: this.#container,
      Image: k.image,
      ...(k.command.length ? { Cmd: k.command } : {}),
      Env: Object.entries(k.env).map(([n, v]) => `${n}=${v}`),
      Labels: { [HOMEOSTAT_LABEL]: 'true', 'homeostat.target': this.name },
      HostConfig: {
        NetworkMode: 'host',
        Binds: k.binds,
        ...(k.memory ? { Memory: k.memory, MemorySwap: k.memory } : {}),
        ...(k.cpus ? { NanoCpus: Math.round(k.cpus * 1e9) } : {}),
      },
    });
    this.#created = true;
    this.#log.info({ image: k.image }, 'container created');
  }

  stop(): Promise<void> {
    return this.#serial(() => this.#stop());
  }

  async #stop(): Promise<void> {
    this.#stopping++;
    try {
      const c = this.#docker.getContainer(this.#container);
      await c.stop({ t: Math.ceil(this.config.stopGrace / 1000) }).catch((e: unknown) => {
        if (statusCode(e) !== 304 && statusCode(e) !== 404) throw e;
      });
      // the die event may still be in flight: the state is read now, so the exit is expected
      await this.#resync();
    } finally {
      this.#stopping--;
    }
  }

  restart(): Promise<void> {
    return this.#serial(async () => {
      // a dead container (the usual case: it crashed) has nothing to stop
      if (this.#running) await this.#stop();
      this.#restarts++;
      await this.#start();
    });
  }

  async detach(): Promise<void> {
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = null;
    if (this.#created || this.config.create) {
      this.#stopping++;
      await this.#docker
        .getContainer(this.#container)
        .remove({ force: true })
        .catch(() => undefined);
      this.#markExited(null, Date.now(), false);
      this.#stopping--;
    }
    this.#unwatch?.();
    this.#unwatch = null;
  }

  async status(): Promise<TargetStatus> {
    const base: TargetStatus = { name: this.name, running: this.#running, pid: this.#pid, restarts: this.#restarts, lastExit: this.#lastExit, startError: this.#startError };
    if (this.#startedMs) base.startedAt = new Date(this.#startedMs).toISOString();
    const info = await this.#docker.getContainer(this.#container).inspect();
    const s = info.State;
    return {
      ...base,
      running: s.Running,
      pid: s.Running ? s.Pid : undefined,
      container: { id: info.Id, status: s.Status, exitCode: s.ExitCode, oomKilled: s.OOMKilled, health: s.Health?.Status ?? null },
    };
  }

  async signal(sig: NodeJS.Signals): Promise<void> {
    if (!this.#running) throw new TargetNotRunningError(this.name);
    await this.#docker.getContainer(this.#container).kill({ signal: sig });
  }

  async pids(): Promise<number[]> {
    return this.#running && this.#pid ? processTree(this.#pid) : [];
  }

  /** Runs `argv` inside the container (no shell), stdout and stderr demultiplexed and each bounded. */
  async exec(argv: readonly string[], opts: ExecOptions): Promise<ExecResult> {
    if (!argv.length) return { exitCode: null, stdout: '', stderr: '', timedOut: false, error: 'empty argv' };
    const c = this.#docker.getContainer(this.#container);
    let exec: Docker.Exec;
    try {
      exec = await c.exec({ Cmd: [...argv], AttachStdout: true, AttachStderr: true, Tty: false });
    } catch (e) {
      return { exitCode: null, stdout: '', stderr: '', timedOut: false, error: (e as Error).message };
    }
    const out = new BoundedSink(opts.maxOutputBytes);
    const err = new BoundedSink(opts.maxOutputBytes);
    const stream = await exec.start({ hijack: true, stdin: false });
    this.#docker.modem.demuxStream(stream, out, err);
    let timedOut = false;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timedOut = true;
        // dockerd has no exec kill: kill the exec's process by its host pid
        void exec
          .inspect()
          .then((i) => i.Pid && process.kill(i.Pid, 'SIGKILL'))
          .catch(() => undefined);
        (stream as unknown as { destroy(): void }).destroy();
        resolve();
      }, opts.timeoutMs);
      stream.once('end', () => (clearTimeout(timer), resolve()));
      stream.once('close', () => (clearTimeout(timer), resolve()));
      stream.once('error', () => (clearTimeout(timer), resolve()));
    });
    const info = timedOut ? null : await exec.inspect().catch(() => null);
    const truncated = out.truncated || err.truncated;
    return { exitCode: timedOut ? null : (info?.ExitCode ?? null), stdout: out.text(), stderr: err.text(), timedOut, ...(truncated ? { truncated } : {}) };
  }

  async logs(opts: { since?: number; tail?: number } = {}): Promise<LogLine[]> {
    const buf = await this.#docker.getContainer(this.#container).logs({
      stdout: true,
      stderr: true,
      timestamps: true,
      follow: false,
      ...(opts.since !== undefined ? { since: Math.floor(opts.since / 1000) } : {}),
      ...(opts.tail !== undefined ? { tail: opts.tail } : {}),
    });
    const lines = parseLogFrames(buf);
    return opts.since === undefined ? lines : lines.filter((l) => l.at >= opts.since!);
  }

  /**
   * Updates the container's CPU and memory limits. A container started with `--cpus` (NanoCpus)
   * refuses a CPU quota, and one with a quota refuses NanoCpus: the limit is set the way it was.
   */
  async updateLimits(limits: { cpus?: number; memory?: number }): Promise<{ cpus?: number; memory?: number; via: 'NanoCpus' | 'CpuQuota' | 'none' }> {
    const c = this.#docker.getContainer(this.#container);
    const info = await c.inspect();
    const update: Record<string, number> = {};
    let via: 'NanoCpus' | 'CpuQuota' | 'none' = 'none';
    if (limits.cpus !== undefined) {
      if ((info.HostConfig.NanoCpus ?? 0) > 0 || !(info.HostConfig.CpuQuota ?? 0)) {
        update['NanoCpus'] = Math.round(limits.cpus * 1e9);
        via = 'NanoCpus';
      } else {
        const period = info.HostConfig.CpuPeriod || 100_000;
        update['CpuPeriod'] = period;
        update['CpuQuota'] = Math.round(limits.cpus * period);
        via = 'CpuQuota';
      }
    }
    if (limits.memory !== undefined) {
      update['Memory'] = limits.memory;
      update['MemorySwap'] = limits.memory;
    }
    await c.update(update);
    return { ...limits, via };
  }
}
