import type { Logger } from 'pino';
import { subjects, type BusClient, type ResourceKind, type ResourcePressureData, type ResourceRecoveredData, type TopProcess } from '../bus/index.js';
import { attributeToTargets, ProcessCpuSampler, readCommand, type ProcSample, type TargetRoot } from '../targets/index.js';
import { ProcHostSource, type HostSample, type HostSource } from './host-sampler.js';
import type { ResourceMonitorConfig } from './monitors-config.js';
import { SustainedThreshold, type ThresholdChange } from './sustained-threshold.js';

/** Where the monitor reads per-process use (all processes, CPU % since the previous call). */
export interface ProcessSource {
  sample(): ProcSample[];
  reset(): void;
}

export interface ResourceMonitorOptions {
  bus: BusClient;
  config: ResourceMonitorConfig;
  /** The registered targets' main processes, asked at each event for attribution. */
  roots: () => TargetRoot[];
  log: Logger;
  /** Defaults to /proc and statfs; tests pass a scripted source. */
  host?: HostSource;
  processes?: ProcessSource;
  /** Command line of a pid for the event (defaults to /proc/<pid>/cmdline). */
  command?: (pid: number) => string | null;
}

interface Watch {
  resource: ResourceKind;
  path?: string;
  detector: SustainedThreshold;
  /** The target named by this episode's pressure event, repeated on `recovered`. */
  target: string | null;
}

/**
 * The resource pressure monitor: samples CPU, memory and disk every `interval`, and publishes
 * `events.resource.<cpu|memory|disk>_pressure` once per episode when a value stays above its
 * threshold for its window, with the top processes and the registered target owning each, and
 * `events.resource.recovered` when the value falls under its recovery threshold.
 *
 * Steady state costs three small reads per sample. The process table is read only while CPU or
 * memory is above its threshold, so the top list of an episode has CPU % over the last interval.
 */
export class ResourceMonitor {
  readonly #watches: Watch[] = [];
  readonly #host: HostSource;
  readonly #procs: ProcessSource;
  readonly #command: (pid: number) => string | null;
  #timer: NodeJS.Timeout | null = null;
  #busy = false;
  #lastProcs: ProcSample[] = [];
  #last: HostSample | null = null;

  constructor(private readonly opts: ResourceMonitorOptions) {
    const c = opts.config;
    this.#host = opts.host ?? new ProcHostSource(c.disk.enabled ? c.disk.paths : []);
    this.#procs = opts.processes ?? new ProcessCpuSampler();
    this.#command = opts.command ?? ((pid) => readCommand(pid));
    if (c.cpu.enabled) this.#watches.push({ resource: 'cpu', detector: new SustainedThreshold(c.cpu), target: null });
    if (c.memory.enabled) this.#watches.push({ resource: 'memory', detector: new SustainedThreshold(c.memory), target: null });
    if (c.disk.enabled) {
      for (const path of c.disk.paths) this.#watches.push({ resource: 'disk', path, detector: new SustainedThreshold(c.disk), target: null });
    }
  }

  start(): void {
    if (this.#timer) return;
    this.#host.sample();
    this.#timer = setInterval(() => this.tick(), this.opts.config.interval);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** True once a sample was taken and no resource is above its threshold or in an episode. */
  get calm(): boolean {
    return this.#last !== null && this.#watches.every((w) => !w.detector.above && !w.detector.active);
  }

  /** The latest machine-wide reading. */
  get last(): HostSample | null {
    return this.#last;
  }

  /** Takes one sample and publishes what changed. Called by the timer; tests call it directly. */
  tick(): void {
    if (this.#busy) return;
    this.#busy = true;
    try {
      const s = this.#host.sample();
      this.#last = s;
      const changes: [Watch, ThresholdChange, number][] = [];
      for (const w of this.#watches) {
        const value = this.#valueOf(w, s);
        if (value === null) continue;
        const change = w.detector.update(s.at, s.intervalMs || this.opts.config.interval, value);
        if (change) changes.push([w, change, value]);
      }
      const scanning = this.#watches.some((w) => w.resource !== 'disk' && (w.detector.above || w.detector.active));
      if (scanning) this.#lastProcs = this.#procs.sample();
      else if (this.#lastProcs.length) {
        this.#lastProcs = [];
        this.#procs.reset();
      }
      for (const [w, change, value] of changes) {
        // A window shorter than one interval fires before the process table has a baseline.
        const needsBaseline = change.kind === 'pressure' && w.resource === 'cpu' && !this.#lastProcs.some((p) => p.cpuPct !== null);
        if (!needsBaseline) this.#publish(w, change, value, s);
        else {
          setTimeout(() => {
            this.#lastProcs = this.#procs.sample();
            this.#publish(w, change, value, s);
          }, Math.min(250, this.opts.config.interval));
        }
      }
    } catch (e) {
      this.opts.log.error({ err: e }, 'resource sample failed');
    } finally {
      this.#busy = false;
    }
  }

  #valueOf(w: Watch, s: HostSample): number | null {
    if (w.resource === 'cpu') return s.cpuPct;
    if (w.resource === 'memory') return s.memPct;
    return s.disk.find((d) => d.path === w.path)?.usedPct ?? null;
  }

  #publish(w: Watch, change: ThresholdChange, value: number, s: HostSample): void {
    const { bus, log } = this.opts;
    const settings = w.detector.settings;
    if (change.kind === 'pressure') {
      const top = w.resource === 'disk' ? [] : this.#top(w.resource, s.memTotalBytes);
      const minPct = w.resource === 'cpu' ? this.opts.config.cpu.attributeMinPct : 0;
      w.target = top.find((p) => p.target !== null && (w.resource !== 'cpu' || (p.cpuPct ?? 0) >= minPct))?.target ?? null;
      const data: ResourcePressureData = {
        resource: w.resource,
        valuePct: round1(value),
        thresholdPct: settings.threshold,
        windowMs: settings.window,
        heldMs: Math.round(change.heldMs),
        since: new Date(change.since).toISOString(),
        ...(w.path ? { path: w.path } : {}),
        target: w.target,
        top,
      };
      log.warn({ resource: w.resource, valuePct: data.valuePct, target: w.target, top: top.map((p) => `${p.pid}:${p.cpuPct}%:${p.target ?? '-'}`) }, 'resource pressure');
      bus.publish(subjects.event('resource', `${w.resource}_pressure`), `resource.${w.resource}_pressure`, data, w.target ? { target: w.target } : {});
    } else {
      const data: ResourceRecoveredData = {
        resource: w.resource,
        valuePct: round1(value),
        recoveryPct: settings.recovery,
        ...(w.path ? { path: w.path } : {}),
        episodeMs: Math.round(change.episodeMs),
        target: w.target,
      };
      log.info({ resource: w.resource, valuePct: data.valuePct, episodeMs: data.episodeMs }, 'resource recovered');
      bus.publish(subjects.event('resource', 'recovered'), 'resource.recovered', data, w.target ? { target: w.target } : {});
      w.target = null;
    }
  }

  /** The hottest processes (CPU) or the largest (memory), each attributed to its target. */
  #top(resource: 'cpu' | 'memory', memTotal: number): TopProcess[] {
    const procs = this.#lastProcs;
    const owner = attributeToTargets(procs, this.opts.roots());
    const key = resource === 'cpu' ? (p: ProcSample) => p.cpuPct ?? -1 : (p: ProcSample) => p.rssBytes;
    return [...procs]
      .sort((a, b) => key(b) - key(a))
      .slice(0, this.opts.config.top)
      .map((p) => ({
        pid: p.pid,
        ppid: p.ppid,
        command: this.#command(p.pid) ?? p.comm,
        cpuPct: p.cpuPct,
        memBytes: p.rssBytes,
        memPct: memTotal ? round1((p.rssBytes / memTotal) * 100) : 0,
        target: owner.get(p.pid) ?? null,
        startTime: p.startTime,
      }));
  }
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}
