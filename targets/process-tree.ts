import { readdirSync } from 'node:fs';
import { readProcUsage } from './process-usage.js';

export interface ProcInfo {
  pid: number;
  ppid: number;
  state: string;
  /** Start time in clock ticks since boot: with the pid, identifies one process for its lifetime. */
  startTime: number;
  comm: string;
}

/** Reads /proc/<pid>/stat; null when the process is gone. */
export function readProc(pid: number): ProcInfo | null {
  const u = readProcUsage(pid);
  return u && { pid, comm: u.comm, state: u.state, ppid: u.ppid, startTime: u.startTime };
}

/** Every live process on the machine. */
export function listProcs(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const p = readProc(Number(name));
    if (p) out.push(p);
  }
  return out;
}

/** `root` and all its descendants, from one snapshot of /proc. */
export function processTree(root: number, procs: ProcInfo[] = listProcs()): number[] {
  const children = new Map<number, number[]>();
  for (const p of procs) {
    const list = children.get(p.ppid);
    if (list) list.push(p.pid);
    else children.set(p.ppid, [p.pid]);
  }
  const live = new Set(procs.map((p) => p.pid));
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    if (!live.has(pid)) continue;
    out.push(pid);
    for (const c of children.get(pid) ?? []) stack.push(c);
  }
  return out;
}
