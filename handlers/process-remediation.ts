import { setPriority } from 'node:os';
import { z } from 'zod';
import { Duration } from '../config/index.js';
import { attributeToTargets, listProcUsage, measureCpu, readCommand, readProcUsage, type TargetRegistry } from '../targets/index.js';
import { declareAction, defineAction } from './action.js';
import { ProcessRefusedError } from './errors.js';
import type { ClearedProcess, ProcessGuard, ProcessOp } from './process-guard.js';

/**
 * Scoped process remediation: kill and throttle (renice), only ever through the ProcessGuard.
 * The selecting actions (`process.throttle`, `process.kill_runaway`) pick hot processes inside
 * registered targets' trees and report what the guard refused as `skipped`, with the rule; the
 * direct ones (`process.kill`, `process.renice`) answer `refused` naming the rule. A process that
 * exits between sampling and acting is reported as `gone`, never as a failure.
 */

const Pid = z.number().int().min(1);
const Signal = z.enum(['SIGTERM', 'SIGKILL']);
const Nice = z.number().int().min(1).max(19);

interface Picked {
  pid: number;
  command: string;
  cpuPct: number;
  target: string;
}
interface Skipped extends Picked {
  rule: string;
  reason: string;
}

/** A process measured earlier in the run (e.g. `steps.identify.result.top`), pinned by start time. */
const Measured = z.object({ pid: Pid, startTime: z.number().int().nonnegative().optional(), cpuPct: z.number().nullable(), target: z.string().nullable().optional() });
type Measured = z.infer<typeof Measured>;

/**
 * Hot processes of the eligible targets (all, or the one named), hottest first. Only the
 * targets' own processes are measured, from scheduler nanoseconds, so a short sample is precise.
 * With `measured`, that earlier measurement is used instead (a process of an eligible target
 * that is gone since is kept, so it is reported as gone).
 */
async function hotProcesses(
  registry: TargetRegistry,
  guard: ProcessGuard,
  target: string | undefined,
  minCpuPct: number,
  sampleMs: number,
  measured?: Measured[],
) {
  const eligible = new Set(target ? [registry.get(target).config.name] : registry.names);
  const procs = listProcUsage();
  const owner = attributeToTargets(procs, guard.roots());
  const mine = procs.filter((p) => eligible.has(owner.get(p.pid) ?? ''));
  let hot: { pid: number; startTime: number; comm: string; cpuPct: number }[];
  if (measured) {
    const byPid = new Map(procs.map((p) => [p.pid, p]));
    hot = measured.flatMap((m) => {
      const p = byPid.get(m.pid);
      if (m.cpuPct === null || m.cpuPct < minCpuPct) return [];
      if (!p || (m.startTime !== undefined && p.startTime !== m.startTime)) {
        // gone since it was measured: reported as gone when it was one of the eligible targets'
        return eligible.has(m.target ?? '') ? [{ pid: m.pid, startTime: m.startTime ?? -1, comm: '?', cpuPct: m.cpuPct }] : [];
      }
      return eligible.has(owner.get(p.pid) ?? '') ? [{ ...p, cpuPct: m.cpuPct }] : [];
    });
  } else {
    const cpu = await measureCpu(mine.map((p) => p.pid), sampleMs);
    hot = mine.flatMap((p) => {
      const cpuPct = cpu.get(p.pid);
      return cpuPct !== undefined && cpuPct >= minCpuPct ? [{ ...p, cpuPct }] : [];
    });
  }
  hot.sort((a, b) => b.cpuPct - a.cpuPct);
  return { procs, hot, owner };
}

/** Runs `act` on each hot process the guard clears for `op`; sorts them into done, gone and skipped. */
async function forEachCleared<R>(
  guard: ProcessGuard,
  op: ProcessOp,
  found: Awaited<ReturnType<typeof hotProcesses>>,
  act: (c: ClearedProcess, p: Picked) => Promise<R | null>,
) {
  const done: R[] = [];
  const gone: Picked[] = [];
  const skipped: Skipped[] = [];
  for (const p of found.hot) {
    const picked: Picked = { pid: p.pid, command: readCommand(p.pid) ?? p.comm, cpuPct: p.cpuPct, target: found.owner.get(p.pid) ?? '' };
    try {
      const cleared = guard.clear(p.pid, op, { startTime: p.startTime, target: picked.target, procs: found.procs });
      const r = cleared ? await act(cleared, picked) : null;
      if (r === null) gone.push(picked);
      else done.push(r);
    } catch (e) {
      if (!(e instanceof ProcessRefusedError)) throw e;
      skipped.push({ ...picked, rule: e.rule, reason: e.message });
    }
  }
  return { done, gone, skipped };
}

/** Signals one cleared process and waits for it to exit; SIGKILL after `graceMs`. Null when it was already gone. */
async function terminate(c: ClearedProcess, signal: 'SIGTERM' | 'SIGKILL', graceMs: number): Promise<{ signal: string; forced: boolean; exitMs: number } | null> {
  const same = () => {
    const p = readProcUsage(c.pid);
    return p !== null && p.state !== 'Z' && p.startTime === c.startTime;
  };
  const started = performance.now();
  if (!send(c.pid, signal)) return null;
  let forced = false;
  if (!(await waitUntil(() => !same(), graceMs))) {
    forced = true;
    if (same()) send(c.pid, 'SIGKILL');
    await waitUntil(() => !same(), 2000);
  }
  return { signal, forced, exitMs: Math.round(performance.now() - started) };
}

function send(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw e;
  }
}

/** Raises a cleared process's niceness to `nice` (never lowers it). Null when it is gone. */
function renice(c: ClearedProcess, nice: number): { previousNice: number; nice: number } | null {
  if (c.nice >= nice) return { previousNice: c.nice, nice: c.nice };
  try {
    setPriority(c.pid, nice);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return null;
    throw e;
  }
  return { previousNice: c.nice, nice };
}

/** `process.throttle`'s declaration (see the action registry). */
export const processThrottleSpec = declareAction({
  name: 'process.throttle',
  description: "Renice hot processes inside registered, non-critical targets' trees.",
  params: z
    .object({ target: z.string().min(1).optional(), nice: Nice.default(10), minCpuPct: z.number().min(0).default(10), sample: Duration.default(100) })
    .strict(),
  returns: '`{ throttled: [{ pid, command, cpuPct, target, previousNice, nice }], skipped: [{ …, rule, reason }], gone, count }`: renices processes using ≥ `minCpuPct` of a core inside the target\'s tree (all targets when none); raises niceness only',
  risk: 'medium',
  idempotent: true,
  probe: false,
});

/** `process.kill_runaway`'s declaration. Medium, not high: S03's playbook runs it without approval. */
export const processKillRunawaySpec = declareAction({
  name: 'process.kill_runaway',
  description: "Kill runaway processes (CPU above minCpuPct) inside registered, non-protected targets' trees.",
  params: z
    .object({
      target: z.string().min(1).optional(),
      minCpuPct: z.number().min(0).default(50),
      sample: Duration.default(100),
      /** Decide on an earlier measurement (the identify step's), not one taken after a throttle. */
      measured: z.array(Measured.loose()).optional(),
      signal: Signal.default('SIGTERM'),
      grace: Duration.default(2000),
    })
    .strict(),
  returns: '`{ killed: [{ pid, command, cpuPct, target, signal, forced, exitMs }], skipped, gone, count }`: SIGKILL after `grace`; with `measured` (e.g. `{{ steps.identify.result.top }}`) it decides on that earlier measurement, each process still pinned by start time and cleared by the guard',
  risk: 'medium',
  idempotent: false,
  probe: false,
});

/** `process.kill`'s declaration: one process by pid, chosen by the playbook, so high (approval by default). */
export const processKillSpec = declareAction({
  name: 'process.kill',
  description: "Kill one process inside a registered, non-protected target's tree.",
  params: z
    .object({ pid: Pid, startTime: z.number().int().nonnegative().optional(), target: z.string().min(1).optional(), signal: Signal.default('SIGTERM'), grace: Duration.default(2000) })
    .strict(),
  returns: '`{ pid, killed, gone, target, command, … }` when the guard clears the process',
  risk: 'high',
  idempotent: true,
  probe: false,
});

/** `process.renice`'s declaration. */
export const processReniceSpec = declareAction({
  name: 'process.renice',
  description: "Renice one process inside a registered, non-critical target's tree.",
  params: z.object({ pid: Pid, startTime: z.number().int().nonnegative().optional(), target: z.string().min(1).optional(), nice: Nice.default(10) }).strict(),
  returns: '`{ pid, throttled, gone, previousNice, nice }` when the guard clears the process',
  risk: 'medium',
  idempotent: true,
  probe: false,
});

async function waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() >= end) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

/** `process.throttle`: renice the hot processes of non-critical targets (the named one, or all). */
export function processThrottle(registry: TargetRegistry, guard: ProcessGuard) {
  return defineAction({
    ...processThrottleSpec,
    async run(p, ctx) {
      const found = await hotProcesses(registry, guard, p.target, p.minCpuPct, p.sample);
      const r = await forEachCleared(guard, 'throttle', found, async (c, picked) => {
        const n = renice(c, p.nice);
        return n && { ...picked, ...n };
      });
      ctx.log.info({ throttled: r.done.map((x) => x.pid), skipped: r.skipped.map((x) => `${x.pid}:${x.rule}`), gone: r.gone.length }, 'throttle done');
      return { result: { throttled: r.done, gone: r.gone, skipped: r.skipped, count: r.done.length } };
    },
  });
}

/** `process.kill_runaway`: kill processes above `minCpuPct` inside registered, non-protected targets' trees. */
export function processKillRunaway(registry: TargetRegistry, guard: ProcessGuard) {
  return defineAction({
    ...processKillRunawaySpec,
    async run(p, ctx) {
      const found = await hotProcesses(registry, guard, p.target, p.minCpuPct, p.sample, p.measured);
      const r = await forEachCleared(guard, 'kill', found, async (c, picked) => {
        const t = await terminate(c, p.signal, p.grace);
        return t && { ...picked, ...t };
      });
      ctx.log.warn({ killed: r.done.map((x) => x.pid), skipped: r.skipped.map((x) => `${x.pid}:${x.rule}`), gone: r.gone.length }, 'runaway kill done');
      return { result: { killed: r.done, gone: r.gone, skipped: r.skipped, count: r.done.length } };
    },
  });
}

/** `process.kill`: kill one process by pid, if the guard clears it. */
export function processKill(guard: ProcessGuard) {
  return defineAction({
    ...processKillSpec,
    async run(p) {
      const c = guard.clear(p.pid, 'kill', { target: p.target, startTime: p.startTime });
      const t = c && (await terminate(c, p.signal, p.grace));
      if (!c || !t) return { result: { pid: p.pid, gone: true, killed: false } };
      return { result: { pid: p.pid, gone: false, killed: true, target: c.target, command: c.command, ...t } };
    },
  });
}

/** `process.renice`: throttle one process by pid, if the guard clears it. */
export function processRenice(guard: ProcessGuard) {
  return defineAction({
    ...processReniceSpec,
    async run(p) {
      const c = guard.clear(p.pid, 'throttle', { target: p.target, startTime: p.startTime });
      const n = c && renice(c, p.nice);
      if (!c || !n) return { result: { pid: p.pid, gone: true, throttled: false } };
      return { result: { pid: p.pid, gone: false, throttled: true, target: c.target, command: c.command, ...n } };
    },
  });
}
