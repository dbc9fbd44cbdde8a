import { readdirSync, readFileSync } from 'node:fs';

/**
 * Per-process usage read straight from /proc (no `ps`, no child process): CPU ticks, resident
 * memory and niceness, plus the CPU % between two readings and the attribution of processes
 * to the registered targets whose process trees hold them.
 */

/** /proc reports CPU time in USER_HZ, which the Linux ABI fixes at 100 ticks per second. */
const USER_HZ = 100;
const PAGE_BYTES = 4096;

export interface ProcUsage {
  pid: number;
  ppid: number;
  /** Process group id. */
  pgid: number;
  state: string;
  comm: string;
  /** utime + stime, in ticks. */
  cpuTicks: number;
  rssBytes: number;
  nice: number;
  /** Start time in ticks since boot: with the pid, names one process for its lifetime. */
  startTime: number;
}

/** One process with its CPU use (% of one core) since the previous reading; null on the first. */
export interface ProcSample extends ProcUsage {
  cpuPct: number | null;
}

/** Reads /proc/<pid>/stat; null when the process is gone. */
export function readProcUsage(pid: number): ProcUsage | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const close = stat.lastIndexOf(')');
  const f = stat.slice(close + 2).split(' ');
  // f[0] is field 3 of proc(5): state, ppid, pgrp, …, utime(14), stime(15), …, nice(19), …, starttime(22), vsize, rss(24)
  return {
    pid,
    comm: stat.slice(stat.indexOf('(') + 1, close),
    state: f[0] ?? '?',
    ppid: Number(f[1]),
    pgid: Number(f[2]),
    cpuTicks: Number(f[11]) + Number(f[12]),
    nice: Number(f[16]),
    startTime: Number(f[19]),
    rssBytes: Number(f[21]) * PAGE_BYTES,
  };
}

/** Every live process. */
export function listProcUsage(): ProcUsage[] {
  const out: ProcUsage[] = [];
  for (const name of readdirSync('/proc')) {
    if (name.charCodeAt(0) > 57 || !/^\d+$/.test(name)) continue;
    const p = readProcUsage(Number(name));
    if (p) out.push(p);
  }
  return out;
}

/** The command line of a process (bounded), or its `comm` when /proc hides it; null when gone. */
export function readCommand(pid: number, max = 200): string | null {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    const cmd = raw.replaceAll('\0', ' ').trim();
    if (cmd) return cmd.length > max ? `${cmd.slice(0, max - 1)}…` : cmd;
  } catch {
    return null;
  }
  return readProcUsage(pid)?.comm ?? null;
}

/**
 * Turns successive readings of /proc into CPU % per process. A process is known by pid and start
 * time, so a reused pid never inherits another process's ticks.
 */
export class ProcessCpuSampler {
  #prev = new Map<string, number>();
  #prevAt = 0;

  constructor(private readonly read: () => ProcUsage[] = listProcUsage) {}

  /** Reads every process; `cpuPct` covers the time since the previous call (null on the first). */
  sample(now = performance.now()): ProcSample[] {
    const procs = this.read();
    const elapsedS = this.#prevAt ? (now - this.#prevAt) / 1000 : 0;
    const next = new Map<string, number>();
    const out = procs.map((p): ProcSample => {
      const key = `${p.pid}:${p.startTime}`;
      next.set(key, p.cpuTicks);
      const before = this.#prev.get(key);
      const cpuPct = before === undefined || elapsedS <= 0 ? null : round1(((p.cpuTicks - before) / USER_HZ / elapsedS) * 100);
      return { ...p, cpuPct };
    });
    this.#prev = next;
    this.#prevAt = now;
    return out;
  }

  /** Forgets the previous reading (the next sample starts a new baseline). */
  reset(): void {
    this.#prev.clear();
    this.#prevAt = 0;
  }
}

/** Time the process has spent on a CPU, in ns (/proc/<pid>/schedstat); null when gone. */
export function readCpuNanos(pid: number): number | null {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return null;
  }
}

/**
 * CPU % of one core of each of `pids` over `durationMs`, from scheduler nanoseconds: precise
 * even over 100 ms, where 10 ms ticks are not. A pid gone by the second reading is left out.
 */
export async function measureCpu(pids: readonly number[], durationMs: number): Promise<Map<number, number>> {
  const before = new Map<number, number>();
  for (const pid of pids) {
    const n = readCpuNanos(pid);
    if (n !== null) before.set(pid, n);
  }
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, durationMs));
  const elapsedNs = (performance.now() - t0) * 1e6;
  const out = new Map<number, number>();
  for (const [pid, n0] of before) {
    const n1 = readCpuNanos(pid);
    if (n1 !== null && n1 >= n0) out.set(pid, round1(((n1 - n0) / elapsedNs) * 100));
  }
  return out;
}

/** A registered target's main process. */
export interface TargetRoot {
  name: string;
  pid: number;
}

/**
 * Maps each process to the registered target whose process tree holds it. A target's tree is its
 * main process and all descendants; a root nested in another target's tree owns its own subtree.
 */
export function attributeToTargets(procs: readonly Pick<ProcUsage, 'pid' | 'ppid'>[], roots: readonly TargetRoot[]): Map<number, string> {
  const children = new Map<number, number[]>();
  const live = new Set<number>();
  for (const p of procs) {
    live.add(p.pid);
    const list = children.get(p.ppid);
    if (list) list.push(p.pid);
    else children.set(p.ppid, [p.pid]);
  }
  const rootOf = new Map(roots.map((r) => [r.pid, r.name]));
  const owner = new Map<number, string>();
  for (const r of roots) {
    if (!live.has(r.pid)) continue;
    const stack = [r.pid];
    while (stack.length) {
      const pid = stack.pop()!;
      owner.set(pid, r.name);
      for (const c of children.get(pid) ?? []) if (!rootOf.has(c)) stack.push(c);
    }
  }
  return owner;
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}
