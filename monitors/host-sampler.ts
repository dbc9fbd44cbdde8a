import { readFileSync, statfsSync } from 'node:fs';

/**
 * Machine-wide CPU, memory and disk use read straight from /proc and statfs(2): three small
 * reads per sample, no child process (systeminformation's `fsSize` runs `df` each time; see
 * bench/resource-monitor.ts for the measured difference).
 */

export interface CpuTicks {
  busy: number;
  total: number;
}

/** The aggregate `cpu` line of /proc/stat: busy and total ticks over all cores. */
export function readCpuTicks(text = readFileSync('/proc/stat', 'utf8')): CpuTicks {
  const line = text.slice(0, text.indexOf('\n'));
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user/nice)
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = v;
  const idleAll = idle + iowait;
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idleAll };
}

/** Busy share of all cores between two readings, in % (null when no time passed). */
export function cpuPctBetween(a: CpuTicks, b: CpuTicks): number | null {
  const total = b.total - a.total;
  if (total <= 0) return null;
  return Math.min(100, Math.max(0, ((b.busy - a.busy) / total) * 100));
}

export interface MemoryUse {
  totalBytes: number;
  availableBytes: number;
  usedPct: number;
}

/** MemTotal and MemAvailable of /proc/meminfo. */
export function readMemory(text = readFileSync('/proc/meminfo', 'utf8')): MemoryUse {
  const kb = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : 0;
  };
  const totalBytes = kb('MemTotal');
  const availableBytes = kb('MemAvailable');
  return { totalBytes, availableBytes, usedPct: totalBytes ? ((totalBytes - availableBytes) / totalBytes) * 100 : 0 };
}

/** Used share of the filesystem holding `path`, as `df` computes it (blocks reserved for root excluded). */
export function readDiskPct(path: string): number {
  const s = statfsSync(path);
  const used = s.blocks - s.bfree;
  const usable = used + s.bavail;
  return usable > 0 ? (used / usable) * 100 : 0;
}

/** One machine-wide reading. `intervalMs` is the time the CPU value covers. */
export interface HostSample {
  at: number;
  intervalMs: number;
  cpuPct: number | null;
  memPct: number;
  memTotalBytes: number;
  disk: { path: string; usedPct: number }[];
}

/** Where the resource monitor gets its readings: /proc in production, a script in tests. */
export interface HostSource {
  sample(): HostSample;
}

/** Reads the real machine. The first sample's CPU value is null (no previous reading yet). */
export class ProcHostSource implements HostSource {
  #prev: CpuTicks | null = null;
  #prevAt = 0;

  constructor(private readonly diskPaths: readonly string[]) {}

  sample(): HostSample {
    const at = Date.now();
    const ticks = readCpuTicks();
    const cpuPct = this.#prev ? cpuPctBetween(this.#prev, ticks) : null;
    const intervalMs = this.#prev ? at - this.#prevAt : 0;
    this.#prev = ticks;
    this.#prevAt = at;
    const mem = readMemory();
    return {
      at,
      intervalMs,
      cpuPct,
      memPct: mem.usedPct,
      memTotalBytes: mem.totalBytes,
      disk: this.diskPaths.map((path) => ({ path, usedPct: readDiskPct(path) })),
    };
  }
}
