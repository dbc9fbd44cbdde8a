import { z } from 'zod';
import { Duration } from '../config/index.js';
import { cpuPctBetween, readCpuTicks, readMemory } from '../monitors/index.js';
import { attributeToTargets, listProcUsage, measureCpu, readCommand, type TargetRegistry } from '../targets/index.js';
import { declareAction, defineAction } from './action.js';
import type { ProcessGuard } from './process-guard.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round1 = (v: number) => Math.round(v * 10) / 10;

/** `resource.cpu`'s declaration (see the action registry). */
export const resourceCpuSpec = declareAction({
  name: 'resource.cpu',
  description: 'Probe machine-wide CPU: how long it has stayed under a threshold.',
  params: z
    .object({
      below: z.number().min(0).max(100).default(60),
      holdFor: Duration.default(3000),
      every: Duration.refine((v) => v >= 50, 'every must be at least 50ms').default(250),
      maxWait: Duration.default(10_000),
      target: z.string().optional(),
    })
    .strict(),
  returns: '`{ cpuPct, heldMs, maxPct, below, samples }`: samples machine CPU every `every` until it stayed under `below` for `holdFor` (or `maxWait`, capped below the caller\'s timeout)',
  risk: 'low',
  idempotent: true,
  probe: true,
});

/** `process.top`'s declaration. */
export const processTopSpec = declareAction({
  name: 'process.top',
  description: 'Identify the top CPU consumers and the targets they belong to.',
  params: z.object({ limit: z.number().int().min(1).max(50).default(5), sample: Duration.default(100), target: z.string().optional() }).strict(),
  returns: '`{ cpuPct, top: [{ pid, command, cpuPct, memBytes, memPct, target, startTime, critical, protected }], hottestTarget }`: CPU of every process over `sample`, each mapped to the target whose tree holds it',
  risk: 'low',
  idempotent: true,
  probe: true,
});

/**
 * `resource.cpu` (a probe): samples machine-wide CPU every `every` until it has stayed under
 * `below` for `holdFor` (then answers at once) or `maxWait` passes. `heldMs` is how long the
 * latest stretch under `below` lasted, so `expect: result.heldMs >= 3000` means "held for 3 s".
 */
export function resourceCpu() {
  return defineAction({
    ...resourceCpuSpec,
    async run(p, ctx) {
      const started = performance.now();
      // answer before the caller gives up, so it sees the last reading rather than a timeout
      const maxWait = ctx.timeoutMs ? Math.min(p.maxWait, Math.max(0, ctx.timeoutMs - p.every - 250)) : p.maxWait;
      let prev = readCpuTicks();
      let heldMs = 0;
      let maxPct = 0;
      let cpuPct = 0;
      let samples = 0;
      while (heldMs < p.holdFor && performance.now() - started < maxWait) {
        const t0 = performance.now();
        await sleep(p.every);
        const now = readCpuTicks();
        cpuPct = cpuPctBetween(prev, now) ?? cpuPct;
        prev = now;
        samples++;
        if (cpuPct < p.below) {
          heldMs += performance.now() - t0;
          maxPct = Math.max(maxPct, cpuPct);
        } else {
          heldMs = 0;
          maxPct = 0;
        }
      }
      return { result: { cpuPct: round1(cpuPct), heldMs: Math.round(heldMs), maxPct: round1(maxPct), below: p.below, samples } };
    },
  });
}

/** `process.top`: the hottest processes over `sample` (scheduler ns, so 100 ms is precise), each with the registered target owning it. */
export function processTop(registry: TargetRegistry, guard: ProcessGuard) {
  return defineAction({
    ...processTopSpec,
    async run(p) {
      const before = readCpuTicks();
      const procs = listProcUsage();
      const cpu = await measureCpu(procs.map((x) => x.pid), p.sample);
      const cpuPct = cpuPctBetween(before, readCpuTicks());
      const memTotal = readMemory().totalBytes;
      const owner = attributeToTargets(procs, guard.roots());
      const top = procs
        .flatMap((x) => (cpu.has(x.pid) ? [{ ...x, cpuPct: cpu.get(x.pid)! }] : []))
        .sort((a, b) => b.cpuPct - a.cpuPct)
        .slice(0, p.limit)
        .map((x) => ({
          pid: x.pid,
          command: readCommand(x.pid) ?? x.comm,
          cpuPct: x.cpuPct,
          memBytes: x.rssBytes,
          memPct: memTotal ? round1((x.rssBytes / memTotal) * 100) : 0,
          target: owner.get(x.pid) ?? null,
          startTime: x.startTime,
          critical: owner.has(x.pid) ? registry.get(owner.get(x.pid)!).config.critical : null,
          protected: owner.has(x.pid) ? registry.get(owner.get(x.pid)!).config.protected : null,
        }));
      return { result: { cpuPct: cpuPct === null ? null : round1(cpuPct), top, hottestTarget: top.find((x) => x.target)?.target ?? null } };
    },
  });
}
