import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Logger } from 'pino';
import { listProcUsage, readCommand, readProcUsage } from '../targets/index.js';

/**
 * A pid file of one child of `homeostat up`: `<run dir>/<name>.pid` (nats-server, chaos agent, the
 * reaper) or `<run dir>/targets/<name>.pid` (process targets, written by their driver), JSON.
 */
export interface ChildPidFile {
  pid: number;
  /** Start time in clock ticks since boot: with the pid, names one process for its lifetime. */
  startTime: number;
  /** A text the process's command line must contain to be taken for this child (e.g. its config path). */
  match?: string;
}

/** The folder of the process targets' pid files in a run directory. */
export const TARGET_PID_DIR = 'targets';

/** The reaper's pid file name (it waits for `up` to die, then stops the children: see orphan-reaper.ts). */
export const REAPER = 'reaper';

/** Writes `<dir>/<name>.pid` for `pid`; returns a function that removes it. */
export function writeChildPidFile(dir: string, name: string, pid: number, match?: string): () => void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${name}.pid`);
  const body: ChildPidFile = { pid, startTime: readProcUsage(pid)?.startTime ?? 0, ...(match ? { match } : {}) };
  writeFileSync(file, `${JSON.stringify(body)}\n`, { mode: 0o600 });
  return () => removeChildPidFile(dir, name, pid);
}

/** Removes `<dir>/<name>.pid` if it still names `pid` (a later run may have written its own). */
export function removeChildPidFile(dir: string, name: string, pid: number): void {
  const file = join(dir, `${name}.pid`);
  if (readPidFile(file)?.pid === pid) rmSync(file, { force: true });
}

function readPidFile(file: string): ChildPidFile | null {
  try {
    const b = JSON.parse(readFileSync(file, 'utf8')) as Partial<ChildPidFile>;
    if (typeof b.pid !== 'number' || typeof b.startTime !== 'number') return null;
    return { pid: b.pid, startTime: b.startTime, match: typeof b.match === 'string' ? b.match : undefined };
  } catch {
    return null;
  }
}

interface Leftover {
  file: string;
  name: string;
  pid: number;
  /** Signal the whole process group (a process target leads its own group). */
  group: boolean;
}

/**
 * The live processes a run directory's pid files name: pid, start time and command line checked.
 * With `prune`, pid files naming no such process are removed.
 */
export function findLeftovers(runDir: string, self: number = process.pid, prune = true): Leftover[] {
  const files = [runDir, join(runDir, TARGET_PID_DIR)].flatMap((d) => {
    try {
      return readdirSync(d).filter((f) => f.endsWith('.pid')).map((f) => join(d, f));
    } catch {
      return [];
    }
  });
  const out: Leftover[] = [];
  for (const file of files) {
    const entry = readPidFile(file);
    if (entry?.pid === self) continue; // the reaper's own file: it removes it when done
    const p = entry && readProcUsage(entry.pid);
    const cmd = p ? readCommand(p.pid, 8192) : null;
    const ours = entry !== null && p !== null && p.state !== 'Z' && p.startTime === entry.startTime && (!entry.match || (cmd ?? '').includes(entry.match));
    if (!ours) {
      if (prune) rmSync(file, { force: true });
      continue;
    }
    out.push({ file, name: basename(file, '.pid'), pid: p.pid, group: p.pgid === p.pid });
  }
  // a nats-server on this run directory's config (or a cluster node's, `node-<i>/`) whose pid file was lost still holds the JetStream store
  const conf = join(runDir, 'nats-server.conf');
  const nodeConf = new RegExp(`${join(runDir, 'node-').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\d+/nats-server\\.conf`);
  for (const p of listProcUsage()) {
    if (p.state === 'Z' || out.some((o) => o.pid === p.pid)) continue;
    const cmd = readCommand(p.pid, 8192) ?? '';
    if (/(^|\/)nats-server\s/.test(cmd) && (cmd.includes(conf) || nodeConf.test(cmd))) out.push({ file: '', name: 'nats-server', pid: p.pid, group: false });
  }
  return out;
}

const alive = (pid: number) => {
  const p = readProcUsage(pid);
  return p !== null && p.state !== 'Z';
};

function signal(l: Leftover, sig: NodeJS.Signals): void {
  try {
    process.kill(l.group ? -l.pid : l.pid, sig);
  } catch {
    /* gone already */
  }
}

async function waitGone(pids: number[], ms: number): Promise<number[]> {
  const end = Date.now() + ms;
  let left = pids.filter(alive);
  while (left.length && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 20));
    left = left.filter(alive);
  }
  return left;
}

/**
 * Stops the children a previous `homeostat up` on `runDir` left running (it was SIGKILLed): every
 * process its pid files name whose pid, start time and command line still match, SIGTERM then
 * SIGKILL after `graceMs`. A previous run's reaper still at work is waited for, not killed.
 * Returns the names and pids stopped.
 */
export async function stopLeftovers(runDir: string, log: Logger, graceMs = 3000): Promise<{ name: string; pid: number }[]> {
  const found = findLeftovers(runDir);
  const reaper = found.filter((l) => l.name === REAPER);
  if (reaper.length) {
    log.info({ pid: reaper[0]!.pid }, "waiting for the previous run's reaper to finish");
    await waitGone(reaper.map((l) => l.pid), 15_000);
  }
  const rest = reaper.length ? findLeftovers(runDir).filter((l) => l.name !== REAPER) : found;
  if (!rest.length) return [];
  log.warn({ children: rest.map((l) => `${l.name}:${l.pid}`) }, 'stopping the children a previous homeostat up left running');
  for (const l of rest) signal(l, 'SIGTERM');
  const stubborn = await waitGone(rest.map((l) => l.pid), graceMs);
  for (const l of rest.filter((x) => stubborn.includes(x.pid))) signal(l, 'SIGKILL');
  await waitGone(stubborn, 2000);
  for (const l of rest) if (l.file) rmSync(l.file, { force: true });
  return rest.map((l) => ({ name: l.name, pid: l.pid }));
}
