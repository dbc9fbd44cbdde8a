import { readdirSync, statSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { subjects, type BusClient, type ContainerCrashedData, type LogSaturationData, type ZombieOutbreakData } from '../bus/index.js';
import { diskUsedPct, DockerEngine, HOMEOSTAT_LABEL, type DockerTargetConfig, type TargetRuntime, type TargetStateChange } from '../targets/index.js';

export interface ContainerMonitorOptions {
  bus: BusClient;
  targets: readonly TargetRuntime[];
  log: Logger;
  /** How often log directories and exited containers are looked at (default 1 s). */
  intervalMs?: number;
  /** A log directory's filesystem fuller than this (%) is saturated (default 85). */
  logSaturationPct?: number;
  /** More exited containers with Homeostat's label than this is an outbreak (default 5). */
  zombieThreshold?: number;
}

/** A log directory over the threshold is reported once it still is this long after it was first seen so. */
const SATURATION_CONFIRM_MS = 300;

/** Bytes held by the files under `dir` (at most 10 000 entries looked at). */
function dirBytes(dir: string): number {
  let total = 0;
  let seen = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (++seen > 10_000) return;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) total += statSync(p).size;
    }
  };
  try {
    walk(dir);
  } catch {
    /* vanished while read */
  }
  return total;
}

/**
 * The container failure catalogue's monitor, for `driver: docker` targets:
 * - an unexpected death → `events.container.crashed` with its root-cause tag (read by the driver
 *   from the last logs), and `events.container.oom_killed` when the tag is `oom_killed`;
 * - a running container's declared `logDir` whose filesystem is fuller than `logSaturationPct` →
 *   `events.container.log_saturation` (once per episode: again only after it fell back under the
 *   threshold); looked at when something in the directory changes (inotify, at most every 100 ms)
 *   and on every interval, and reported once still over 300 ms after it was first seen over (a
 *   container dying meanwhile is its crash's business);
 * - more than `zombieThreshold` exited containers carrying Homeostat's label on an engine →
 *   `events.container.zombie_outbreak` (once per episode), for the engine's first docker target;
 *   counted when such a container's `die` arrives on the engine's events stream (pushed), and on
 *   every interval as a backstop.
 */
export class ContainerMonitor {
  readonly #offs: (() => void)[] = [];
  readonly #saturated = new Set<string>();
  readonly #outbreak = new Set<string>();
  #timer: NodeJS.Timeout | null = null;
  #busy = false;
  #counting = false;
  readonly #pending = new Set<string>();
  /** Since when a log directory has been seen over the threshold, not yet confirmed. */
  readonly #overSince = new Map<string, number>();
  #recount = false;

  constructor(private readonly opts: ContainerMonitorOptions) {}

  get #docker(): TargetRuntime[] {
    return this.opts.targets.filter((t) => t.config.driver === 'docker');
  }

  start(): void {
    for (const rt of this.#docker) this.#offs.push(rt.driver.onState((s) => this.#onState(rt, s)));
    // zombies are counted when a labelled container dies (pushed), the poll is the backstop
    const sockets = new Set(this.#docker.map((rt) => (rt.config as DockerTargetConfig).socket));
    for (const socket of sockets) {
      this.#offs.push(
        DockerEngine.of(socket, this.opts.log).onContainerEvent((e) => {
          if (e.action === 'die' && e.attributes[HOMEOSTAT_LABEL] !== undefined) this.#recountZombies();
        }),
      );
    }
    // a log directory is looked at as soon as something in it changes (inotify), at most every 100 ms
    for (const rt of this.#docker) {
      const c = rt.config as DockerTargetConfig;
      if (!c.logDir) continue;
      let w: FSWatcher;
      try {
        w = watch(c.logDir, { persistent: false }, () => this.#soon(rt));
      } catch {
        continue; // not there (yet): the poll looks at it
      }
      w.on('error', () => w.close());
      this.#offs.push(() => w.close());
    }
    if (this.#docker.length) {
      this.#timer = setInterval(() => void this.#tick(), this.opts.intervalMs ?? 1000);
      void this.#tick();
    }
  }

  #onState(rt: TargetRuntime, s: TargetStateChange): void {
    if (s.kind !== 'exited' || s.expected || !s.cause) return;
    const target = rt.config.name;
    const c = rt.config as DockerTargetConfig;
    const data: ContainerCrashedData = {
      target,
      container: c.container ?? c.name,
      exitCode: s.code,
      rootCause: s.cause.rootCause,
      oom: s.oom ?? null,
      evidence: s.cause.evidence,
      diskUsedPct: s.cause.diskUsedPct,
    };
    this.opts.log.warn(data, 'container crashed');
    this.opts.bus.publish(subjects.event('container', 'crashed'), 'container.crashed', data, { target });
    if (data.rootCause === 'oom_killed') this.opts.bus.publish(subjects.event('container', 'oom_killed'), 'container.oom_killed', data, { target });
  }

  /** A recount now, or right after the one in flight (deaths that come in a burst are coalesced). */
  #recountZombies(): void {
    if (this.#counting) {
      this.#recount = true;
      return;
    }
    this.#counting = true;
    void this.#checkZombies().finally(() => {
      this.#counting = false;
      if (this.#recount) {
        this.#recount = false;
        this.#recountZombies();
      }
    });
  }

  async #tick(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      this.#checkLogDirs();
      if (!this.#counting) await this.#checkZombies();
    } finally {
      this.#busy = false;
    }
  }

  #soon(rt: TargetRuntime): void {
    if (this.#pending.has(rt.config.name)) return;
    this.#pending.add(rt.config.name);
    setTimeout(() => {
      this.#pending.delete(rt.config.name);
      this.#checkLogDir(rt);
    }, 100).unref();
  }

  #checkLogDirs(): void {
    for (const rt of this.#docker) this.#checkLogDir(rt);
  }

  #checkLogDir(rt: TargetRuntime): void {
    const threshold = this.opts.logSaturationPct ?? 85;
    const c = rt.config as DockerTargetConfig;
    // a dead container's full disk is its crash's business (events.container.crashed, disk_full)
    if (!c.logDir || !this.#timer) return;
    if (!rt.running) {
      this.#overSince.delete(c.name);
      return;
    }
    const pct = diskUsedPct(c.logDir);
    if (pct === null) return;
    if (pct <= threshold) {
      this.#saturated.delete(c.name);
      this.#overSince.delete(c.name);
      return;
    }
    if (this.#saturated.has(c.name)) return;
    // over on two looks SATURATION_CONFIRM_MS apart: a container that dies meanwhile (the disk filled,
    // then it stopped: a chain reaction) is left to its crash's remedy, which cleans and restarts it
    const since = this.#overSince.get(c.name);
    if (since === undefined || Date.now() - since < SATURATION_CONFIRM_MS) {
      if (since === undefined) this.#overSince.set(c.name, Date.now());
      setTimeout(() => this.#checkLogDir(rt), SATURATION_CONFIRM_MS - (since === undefined ? 0 : Date.now() - since)).unref();
      return;
    }
    this.#overSince.delete(c.name);
    this.#saturated.add(c.name);
    const data: LogSaturationData = { target: c.name, logDir: c.logDir, usedPct: pct, thresholdPct: threshold, logBytes: dirBytes(c.logDir) };
    this.opts.log.warn(data, 'log directory saturated');
    this.opts.bus.publish(subjects.event('container', 'log_saturation'), 'container.log_saturation', data, { target: c.name });
  }

  async #checkZombies(): Promise<void> {
    const threshold = this.opts.zombieThreshold ?? 5;
    const bySocket = new Map<string, string>();
    for (const rt of this.#docker) {
      const c = rt.config as DockerTargetConfig;
      if (!bySocket.has(c.socket)) bySocket.set(c.socket, c.name);
    }
    for (const [socket, target] of bySocket) {
      let exited: string[];
      try {
        const list = await DockerEngine.of(socket, this.opts.log).docker.listContainers({ all: true, filters: { label: [HOMEOSTAT_LABEL], status: ['exited', 'dead'] } });
        exited = list.map((x) => (x.Names[0] ?? x.Id).replace(/^\//, ''));
      } catch {
        continue; // the engine is away: events.docker.unreachable says so
      }
      if (exited.length <= threshold) {
        this.#outbreak.delete(socket);
        continue;
      }
      if (this.#outbreak.has(socket)) continue;
      this.#outbreak.add(socket);
      const data: ZombieOutbreakData = { target, exited: exited.length, threshold, containers: exited.slice(0, 50) };
      this.opts.log.warn({ target, exited: exited.length }, 'zombie outbreak');
      this.opts.bus.publish(subjects.event('container', 'zombie_outbreak'), 'container.zombie_outbreak', data, { target });
    }
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    for (const off of this.#offs.splice(0)) off();
  }
}
