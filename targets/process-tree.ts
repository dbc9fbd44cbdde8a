import { readdirSync } from 'node:fs';
import { attributeToTargets, readProcUsage } from './process-usage.js';

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

/** `root` and all its descendants (root first), from one snapshot of /proc. */
export function processTree(root: number, procs: ProcInfo[] = listProcs()): number[] {
  return [...attributeToTargets(procs, [{ name: 'root', pid: root }]).keys()];
}
