/**
 * ACL flood benchmark: `npm run build && node dist/bench/acl-flood.js [--rate 5000] [--seconds 20]`.
 *
 * Starts a managed nats-server with the project's ACL policy, runs the ACL monitor as its own
 * process (`homeostat acl-monitor`, tailing the server's log), and floods denied publishes as the
 * policy's actor `rogue` at `rate` per second. It prints: detection (flood start → first
 * `events.acl.spam`), the lag of every violation from the server's log stamp to its
 * `acl.violation` message, the monitor's peak resident memory, and the counts in and out
 * (publishes refused = lines logged = violations the tail read = `acl.violation` messages).
 * Exits 0 only when detection ≤ 1.5 s, peak RSS < 150 MB and no line was lost.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connect } from '@nats-io/transport-node';
import pino from 'pino';
import { AclEventData, AclViolationData, BusClient, HeartbeatData, loadAclPolicy, startNatsServer, subjects } from '../bus/index.js';
import { loadSettings } from '../config/index.js';
import { percentile } from '../stress/index.js';

const { values } = parseArgs({ options: { rate: { type: 'string', default: '5000' }, seconds: { type: 'string', default: '20' }, actor: { type: 'string', default: 'rogue' } } });
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const actor = values.actor;
const settings = loadSettings({ ...process.env, NATS_URL: undefined });
const log = pino({ level: 'warn' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rssMb(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return null;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'homeostat-bench-'));
const nats = await startNatsServer({ dir, policy: loadAclPolicy(settings.aclFile), log });
const mon = nats.credentials('monitor');
const child = spawn(process.execPath, [join(settings.root, 'dist', 'cli', 'main.js'), 'acl-monitor', '--log', nats.logFile], {
  env: { ...process.env, NATS_URL: mon.url, HOMEOSTAT_NATS_USER: mon.user, HOMEOSTAT_NATS_PASSWORD: mon.password, HOMEOSTAT_LOG_FORMAT: 'json', LOG_LEVEL: 'error' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
let childOut = '';
child.stdout.on('data', (b: Buffer) => (childOut += b.toString()));
const childExit = new Promise<void>((r) => child.once('exit', () => r()));

const op = await BusClient.connect(nats.credentials('operator'), 'bench', log);
const ready = new Promise<void>((resolve) => {
  const sub = op.subscribe(subjects.heartbeat('acl-monitor'), HeartbeatData, () => {
    sub.unsubscribe();
    resolve();
  });
});
let t0 = 0;
let detectedAt = 0;
op.subscribe(subjects.event('acl', 'spam'), AclEventData, (env) => {
  if (env.data.actor === actor && !detectedAt) detectedAt = performance.now();
});
let out = 0;
let lastOutAt = 0;
const lags: number[] = [];
op.subscribe(subjects.aclViolation, AclViolationData, (env) => {
  if (env.data.actor !== actor || env.data.source !== 'nats-log') return;
  out++;
  lastOutAt = performance.now();
  lags.push(Date.now() - Date.parse(env.data.time));
});
await op.flush();
await ready;

const creds = nats.credentials(actor);
const rogue = await connect({ servers: creds.url, user: creds.user, pass: creds.password, name: `bench-${actor}` });
let peakRss = rssMb(child.pid!) ?? 0;
const cpu0 = cpuSeconds(child.pid!) ?? 0;
const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, rssMb(child.pid!) ?? 0)), 100);

process.stderr.write(`flooding ${rate}/s denied publishes as "${actor}" for ${seconds} s…\n`);
const payload = new TextEncoder().encode('{"bench":"acl-flood"}');
let sent = 0;
t0 = performance.now();
const total = Math.round(rate * seconds);
while (sent < total) {
  const due = Math.min(total, Math.floor((rate * (performance.now() - t0)) / 1000));
  while (sent < due) {
    rogue.publish('actions.process.restart', payload);
    sent++;
  }
  await sleep(5);
}
await rogue.flush();
const floodMs = performance.now() - t0;

// wait until every violation has come out (or nothing more arrives for 5 s)
while (out < sent && performance.now() - Math.max(lastOutAt, t0 + floodMs) < 5000) await sleep(50);
clearInterval(rssTimer);
const cpu = (cpuSeconds(child.pid!) ?? 0) - cpu0;
child.kill('SIGTERM');
await childExit;
await rogue.close();
await op.close();
await nats.stop();
const logged = readFileSync(nats.logFile, 'utf8').split('\n').filter((l) => l.includes('Publish Violation') && l.includes(`"${actor}"`)).length;
rmSync(dir, { recursive: true, force: true });

const counters = JSON.parse(childOut.trim().split('\n').at(-1) ?? '{}') as { source?: { violations: number; garbled: number; lines: number }; monitor?: { counted: number; events: Record<string, number> } };
const detectionMs = detectedAt ? detectedAt - t0 : null;
const r = (v: number | null) => (v === null ? null : Math.round(v * 10) / 10);
const result = {
  rate,
  seconds,
  achievedRate: Math.round(sent / (floodMs / 1000)),
  sent,
  loggedLines: logged,
  tailViolations: counters.source?.violations ?? null,
  monitorCounted: counters.monitor?.counted ?? null,
  aclViolationMessages: out,
  garbled: counters.source?.garbled ?? null,
  spamEvents: counters.monitor?.events.spam ?? null,
  detectionMs: r(detectionMs),
  lagMs: { p50: percentile(lags, 50), p95: percentile(lags, 95), max: lags.length ? Math.max(...lags) : null },
  monitorPeakRssMb: r(peakRss),
  monitorCpuSeconds: r(cpu),
};
const lost = sent - Math.min(logged, result.tailViolations ?? 0, result.monitorCounted ?? 0, out);
const ok = detectionMs !== null && detectionMs <= 1500 && peakRss < 150 && lost === 0;
process.stdout.write(JSON.stringify(result, null, 2) + '\n');
process.stdout.write(
  `detection ${result.detectionMs} ms (goal ≤ 1500) · lag p95 ${result.lagMs.p95} ms, max ${result.lagMs.max} ms · monitor peak RSS ${result.monitorPeakRssMb} MB (goal < 150) · ` +
    `in ${sent} refused = ${logged} logged → out ${result.tailViolations} read / ${result.monitorCounted} counted / ${out} published · lost ${lost} · ${ok ? 'OK' : 'NOT OK'}\n`,
);
process.exit(ok ? 0 : 1);
