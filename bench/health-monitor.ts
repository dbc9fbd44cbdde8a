/**
 * What the health monitor costs with 20 targets, each with one check at a 1 s interval, in % of
 * one core of this process (process.cpuUsage: the monitor, its timers, probes and publishes).
 *
 *   npm run build && node dist/bench/health-monitor.js [--seconds 20] [--targets 20]
 *
 * The targets are `sleep` processes; the http checks GET one python3 http.server per target and the
 * tcp checks connect to it (separate processes, so serving is not counted). Phases: idle (floor),
 * http, tcp, heartbeat (demo workers beating every 1 s), a heartbeat outage (the monitor's own work
 * per attempt), and the machine's wake-up floor: a bare timer firing 20 times a second, which on a
 * mostly idle VM costs about as much as 20 checks' sockets.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { BusClient, freePort, loadAclPolicy, startNatsServer } from '../bus/index.js';
import { loadSettings } from '../config/index.js';
import { HealthMonitor } from '../monitors/index.js';
import { TargetRegistry, TargetsFileSchema } from '../targets/index.js';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  return Number.isFinite(v) && v > 0 ? v : dflt;
};
const seconds = arg('seconds', 20);
const count = arg('targets', 20);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function cpuPct(ms: number): Promise<number> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(ms);
  const c = process.cpuUsage(c0);
  return ((c.user + c.system) / ((performance.now() - t0) * 1000)) * 100;
}

async function main(): Promise<void> {
  const log = pino({ level: 'silent' });
  const settings = loadSettings(process.env, false);
  const dir = mkdtempSync(join(tmpdir(), 'homeostat-bench-'));
  const nats = await startNatsServer({ dir, policy: loadAclPolicy(settings.aclFile), log });
  const bus = await BusClient.connect(nats.credentials('monitor'), 'bench-monitor', log);
  // one server per target, as 20 real services would be (python's listen backlog is 5: one server would drop a burst)
  const ports: number[] = [];
  for (let i = 0; i < count; i++) ports.push(await freePort());
  const webs = ports.map((port) => spawn('/usr/bin/python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1', '--directory', dir], { stdio: 'ignore' }));
  await sleep(2000);
  const results: { name: string; pct: number }[] = [];
  const sleeper = { driver: 'process', command: 'sleep', args: ['600'] };
  const phase = async (name: string, check: ((i: number) => Record<string, unknown>) | null, program: Record<string, unknown> = sleeper) => {
    const configs = TargetsFileSchema.parse({
      targets: Array.from({ length: count }, (_, i) => ({ name: `t${i}`, ...program, checks: check ? [{ interval: '1s', ...check(i) }] : [] })),
    }).targets;
    const registry = await TargetRegistry.create(configs, { targetCredentials: nats.credentials('target'), log });
    const monitor = new HealthMonitor({ bus, targets: registry.all(), log });
    monitor.start();
    await registry.startAll();
    await sleep(3000); // past start-up and the first attempts
    const pct = await cpuPct(seconds * 1000);
    const bad = registry.names.flatMap((n) => (check && !monitor.state(n).checks[0]?.ok ? [monitor.state(n).checks[0]?.lastResult?.reason] : []));
    monitor.stop();
    await registry.stopAll();
    results.push({ name, pct });
    process.stdout.write(`  ${name.padEnd(40)} ${pct.toFixed(3).padStart(7)} % of one core${bad.length ? `   (${bad.length} checks failing: ${bad[0]})` : ''}\n`);
  };
  process.stdout.write(`health monitor cost: ${count} targets, one check each at 1 s, ${seconds} s per phase\n`);
  await phase('warm-up (not counted)', null);
  results.length = 0;
  await phase('idle (targets, no checks)', null);
  await phase('http (GET python3 http.server)', (i) => ({ kind: 'http', url: `http://127.0.0.1:${ports[i]}/` }));
  await phase('tcp (connect)', (i) => ({ kind: 'tcp', port: ports[i] }));
  // demo workers beating every 1 s: the beats received and the looks just after each could go stale
  await phase('heartbeat (demo workers beating at 1 s)', () => ({ kind: 'heartbeat', interval: '1s' }), { driver: 'process', builtin: 'demo-worker' });
  // no I/O: what the monitor itself costs per attempt (during an outage a heartbeat check is judged every 25 ms)
  await phase('heartbeat outage (no I/O, 40 attempts/s each)', () => ({ kind: 'heartbeat', interval: '100ms', startGrace: '1h' }));
  const iv = setInterval(() => undefined, 50);
  const wakeups = await cpuPct(seconds * 1000);
  clearInterval(iv);
  process.stdout.write(`  ${'wake-up floor (a bare 20 Hz timer)'.padEnd(40)} ${wakeups.toFixed(3).padStart(7)} % of one core\n`);
  const floor = results[0]!.pct;
  const [http, tcp, beating, beat] = results.slice(1).map((r) => r.pct - floor) as [number, number, number, number];
  const perAttemptUs = (beat / 100) * 1e6 / (count * 40);
  process.stdout.write(
    `\nabove the idle floor: http ${http.toFixed(3)} %, tcp ${tcp.toFixed(3)} %, heartbeat ${beating.toFixed(3)} % of one core (goal ≤ 0.5 %: ${Math.max(http, tcp, beating) <= 0.5 ? 'met' : 'MISSED'})\n` +
      `the monitor's own work: ${perAttemptUs.toFixed(1)} µs per attempt → ${((perAttemptUs * count) / 1e4).toFixed(3)} % of one core for ${count} checks at 1 s; the rest is the probes' sockets\n`,
  );
  const worst = Math.max(http, tcp, beating);
  for (const web of webs) web.kill('SIGKILL');
  await bus.close();
  await nats.stop();
  rmSync(dir, { recursive: true, force: true });
  process.exitCode = worst <= 0.5 ? 0 : 1;
}

await main();
