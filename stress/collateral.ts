import { readProcUsage } from '../targets/index.js';

/** What a Homeostat process looked like before the fault: its identity and niceness. */
export interface ProcessMark {
  pid: number;
  startTime: number;
  nice: number;
}

/** Marks Homeostat's own processes (the stack, its nats-server, its chaos agent) before injection. */
export function snapshotHomeostat(pids: readonly number[]): ProcessMark[] {
  return pids.flatMap((pid) => {
    const p = readProcUsage(pid);
    return p ? [{ pid, startTime: p.startTime, nice: p.nice }] : [];
  });
}

/** One line per Homeostat process that was killed, replaced or reniced since the snapshot. */
export function homeostatUntouched(marks: readonly ProcessMark[]): string[] {
  const out: string[] = [];
  for (const m of marks) {
    const now = readProcUsage(m.pid);
    if (!now || now.state === 'Z' || now.startTime !== m.startTime) out.push(`homeostat process ${m.pid} was killed`);
    else if (now.nice !== m.nice) out.push(`homeostat process ${m.pid} was reniced (${m.nice} → ${now.nice})`);
  }
  return out;
}
