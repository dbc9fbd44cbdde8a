/**
 * What the resource monitor costs at 1 Hz, in % of one core, and what the same readings cost
 * through systeminformation (when it is installed: `npm i --no-save systeminformation`).
 *
 *   npm run build && node dist/bench/resource-monitor.js [--seconds 20]
 *
 * Each phase samples once a second for `--seconds`, and counts this process's CPU time
 * (process.cpuUsage, µs) plus that of the child processes it waited for (/proc/self/stat
 * cutime + cstime: systeminformation runs `df` and `ps`). Phases:
 *   idle                 nothing but the timer: the floor
 *   /proc steady         the real ResourceMonitor under its thresholds: /proc/stat, /proc/meminfo, statfs
 *   /proc pressure       thresholds at 0, so every tick also reads the whole process table
 *   si steady            si.currentLoad() + si.mem() + si.fsSize()
 *   si pressure          the same + si.processes()
 */
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { BusClient, loadAclPolicy, startNatsServer } from '../bus/index.js';
import { loadSettings } from '../config/index.js';
import { ResourceMonitor, ResourceMonitorConfigSchema } from '../monitors/index.js';
import { listProcUsage } from '../targets/index.js';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  return Number.isFinite(v) && v > 0 ? v : dflt;
};
const seconds = arg('seconds', 20);
const intervalMs = 1000;

/** CPU time of this process (µs, precise) and of its reaped children (µs, 10 ms resolution). */
function cpuMicros(): number {
  const u = process.cpuUsage();
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  const children = (Number(f[13]) + Number(f[14])) * 10_000; // cutime + cstime, USER_HZ = 100
  return u.user + u.system + children;
}

interface Phase {
  name: string;
  start(): void | Promise<void>;
  tick(): void | Promise<void>;
  stop(): void | Promise<void>;
}

async function measure(p: Phase): Promise<{ name: string; pct: number; perTickMs: number }> {
  await p.start();
  const c0 = cpuMicros();
  const t0 = performance.now();
  let ticks = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      void Promise.resolve(p.tick()).then(() => {
        if (++ticks >= seconds) {
          clearInterval(timer);
          resolve();
        }
      });
    }, intervalMs);
  });
  const cpu = cpuMicros() - c0;
  const wall = (performance.now() - t0) * 1000;
  await p.stop();
  return { name: p.name, pct: (cpu / wall) * 100, perTickMs: cpu / ticks / 1000 };
}

interface Si {
  currentLoad(): Promise<unknown>;
  mem(): Promise<unknown>;
  fsSize(): Promise<unknown>;
  processes(): Promise<unknown>;
}

async function main(): Promise<void> {
  const log = pino({ level: 'silent' });
  const settings = loadSettings(process.env, false);
  const dir = mkdtempSync(join(tmpdir(), 'homeostat-bench-'));
  const nats = await startNatsServer({ dir, policy: loadAclPolicy(settings.aclFile), log });
  const bus = await BusClient.connect(nats.credentials('monitor'), 'bench-monitor', log);
  const monitorPhase = (name: string, pct: number): Phase => {
    const config = ResourceMonitorConfigSchema.parse({ cpu: { threshold: pct, recovery: pct, window: 0 }, memory: { threshold: pct, recovery: pct, window: 0 } });
    const m = new ResourceMonitor({ bus, config, roots: () => [], log });
    return { name, start: () => m.tick(), tick: () => m.tick(), stop: () => m.stop() };
  };
  const phases: Phase[] = [
    { name: 'idle (timer only)', start() {}, tick() {}, stop() {} },
    monitorPhase('/proc steady (Homeostat)', 100),
    monitorPhase('/proc pressure (+ process table)', 0),
  ];
  // start-up garbage is collected (on V8's threads, which count) during the first seconds: not part of any phase
  await measure({ name: 'warm-up', start() {}, tick() {}, stop() {} });
  process.stdout.write(`resource monitor cost at 1 Hz, ${seconds} s per phase, ${listProcUsage().length} processes on the machine\n`);
  const results: Awaited<ReturnType<typeof measure>>[] = [];
  const run = async (list: Phase[]) => {
    for (const p of list) {
      const r = await measure(p);
      results.push(r);
      process.stdout.write(`  ${r.name.padEnd(38)} ${r.pct.toFixed(3).padStart(7)} % of one core   ${r.perTickMs.toFixed(2).padStart(7)} ms CPU per sample\n`);
    }
  };
  await run(phases);
  // imported only now: its import starts child processes of its own, which would count above
  const optional: string = 'systeminformation'; // not a dependency: compared only when installed
  const si = (await import(optional).catch(() => null)) as { default?: Si } | Si | null;
  const lib = si ? ((si as { default?: Si }).default ?? (si as Si)) : null;
  if (lib) {
    await lib.currentLoad();
    await new Promise((r) => setTimeout(r, 2000));
    await run([
      { name: 'si steady (currentLoad+mem+fsSize)', start() {}, tick: async () => void (await Promise.all([lib.currentLoad(), lib.mem(), lib.fsSize()])), stop() {} },
      { name: 'si pressure (+ processes)', start() {}, tick: async () => void (await Promise.all([lib.currentLoad(), lib.mem(), lib.fsSize(), lib.processes()])), stop() {} },
    ]);
  }
  if (!lib) process.stdout.write('  (systeminformation not installed: `npm i --no-save systeminformation` to compare)\n');
  const steady = results[1]!;
  process.stdout.write(`\nsteady state: ${steady.pct.toFixed(3)} % of one core (goal ≤ 1 %): ${steady.pct <= 1 ? 'met' : 'MISSED'}\n`);
  await bus.close();
  await nats.stop();
  rmSync(dir, { recursive: true, force: true });
  process.exitCode = steady.pct <= 1 ? 0 : 1;
}

await main();
