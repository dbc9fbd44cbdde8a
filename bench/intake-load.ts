/**
 * Intake load: a separate process POSTs 1,000 Alertmanager alerts/s for 10 s (one alert per body, every
 * 10th re-sent) to a stack's intake; the stack runs the library playbook `alert-critical-notify`
 * for each (log sink only). Prints lost alerts (accepted, no run), duplicated runs, and the accept
 * latency percentiles measured by the client; then where the server's time went (each intake
 * stage, measured in the stack's process, and that process's event-loop delay); then, once the
 * runs have drained, alert posted → matching run started for alerts posted one at a time; last,
 * the machine's noise floor: the same client against a bare HTTP server that answers 202 at once.
 *
 *   npm run build && node dist/bench/intake-load.js [--rate 1000] [--seconds 10] [--warmup 5] [--no-runs] [--no-floor]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { BusClient, RunPhaseData } from '../bus/index.js';
import { loadSettings } from '../config/index.js';
import { startStack } from '../stack/index.js';
import { IntakeTimings } from '../web/index.js';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  return Number.isFinite(v) && v > 0 ? v : dflt;
};
const rate = arg('rate', 1000);
const seconds = arg('seconds', 10);
/** The intake alone: no playbook, so no run competes with it for the process. */
const noRuns = process.argv.includes('--no-runs');
const noFloor = process.argv.includes('--no-floor');
/**
 * Seconds of load before the measured ones, at the same rate, printed apart: a fresh stack's first
 * seconds at 1,000/s are a backlog while its process's code is still cold (each second's p95 settles
 * after 2–5 s; a warm stack has no such start).
 */
const warmupArg = process.argv.indexOf('--warmup');
const warmup = warmupArg >= 0 ? Math.max(0, Number(process.argv[warmupArg + 1]) || 0) : 5;
const CLIENT = join(dirname(fileURLToPath(import.meta.url)), 'intake-load-client.js');
const f = (n: number | null) => (n === null || Number.isNaN(n) ? '-' : n.toFixed(2));
const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil(xs.length * p) - 1)] ?? NaN;

interface ClientReport {
  unique: number;
  requests: number;
  elapsedS: number;
  statuses: Record<string, number>;
  errors: number;
  duplicatesAnswered: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** Requests sent in the warm-up seconds (not in the percentiles above) and their p95. */
  warmup: { requests: number; p95: number };
  /** p95 of the requests sent in each second of the load, warm-up first. */
  perSecondP95: number[];
  accepted: string[];
}

/** Runs the load generator against `url` in its own process; its JSON summary. */
async function runClient(url: string, token: string, onMeasuring?: () => void): Promise<ClientReport> {
  const measuring = onMeasuring && setTimeout(onMeasuring, warmup * 1000);
  const client = spawn(process.execPath, [CLIENT, url, token, String(rate), String(seconds), '10', String(warmup)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  client.stdout.on('data', (c: Buffer) => (out += c.toString()));
  await new Promise((r) => client.once('exit', r));
  clearTimeout(measuring);
  return JSON.parse(out) as ClientReport;
}

/** The same client against a bare node:http server answering 202 at once: what the machine alone costs. */
async function noiseFloor(): Promise<ClientReport> {
  let n = 0;
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      JSON.parse(raw);
      res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ accepted: 1, duplicates: 0, events: [{ eventId: `floor-${n++}`, duplicate: false }] }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    return await runClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, 'none');
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

async function main(): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'homeostat-bench-intake-'));
  const settings = loadSettings({ ...process.env, NATS_URL: undefined, HOMEOSTAT_HOME: home, HOMEOSTAT_NOTIFY: join(home, 'none.yaml'), HOMEOSTAT_LOG_FORMAT: 'json', LOG_LEVEL: 'error' }, false);
  const log = pino({ level: 'fatal' }); // runs still in flight when the stack stops log errors
  const timings = new IntakeTimings();
  const stack = await startStack({ settings, log, targets: [], chaos: false, record: false, intakeTimings: timings, ...(noRuns ? { playbooks: [] } : {}) });
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  try {
    const token = readFileSync(settings.intakeTokenFile, 'utf8').trim();
    const op = await BusClient.connect(stack.credentials('operator'), 'bench-operator', log);
    const runs = new Map<string, number>();
    const startedAt = new Map<string, number>();
    op.subscribe('runs.*.started', RunPhaseData, (env) => {
      if (!env.data.eventId) return;
      runs.set(env.data.eventId, (runs.get(env.data.eventId) ?? 0) + 1);
      startedAt.set(env.data.eventId, performance.now());
    });
    await op.flush();
    loopDelay.enable();
    let cpu0 = process.cpuUsage();
    let wall0 = performance.now();
    // the server's figures cover the measured seconds only (from the end of the client's warm-up, give or take its start-up)
    const rep = await runClient(stack.web!.url, token, () => {
      timings.reset();
      loopDelay.reset();
      cpu0 = process.cpuUsage();
      wall0 = performance.now();
    });
    const cpu = process.cpuUsage(cpu0);
    const cpuShare = (cpu.user + cpu.system) / 1000 / (performance.now() - wall0);
    loopDelay.disable();
    // every accepted alert's run starts (wait up to 60 s for the engine to drain); --no-runs: the intake alone, lost = not accepted
    for (let end = Date.now() + 60_000; !noRuns && rep.accepted.some((id) => !runs.has(id)) && Date.now() < end; ) await new Promise((r) => setTimeout(r, 100));
    const lost = rep.unique - (noRuns ? rep.accepted.length : rep.accepted.filter((id) => runs.has(id)).length);
    const mine = new Set(rep.accepted);
    const duplicatedRuns = [...runs].filter(([id, n]) => mine.has(id) && n > 1).length;
    const started = [...runs.keys()].filter((id) => mine.has(id)).length;
    const ms = (ns: number) => (ns / 1e6).toFixed(1);
    process.stdout.write(
      `intake load: ${rep.unique} unique alerts at ${rate}/s for ${warmup} s of warm-up + ${seconds} s measured (+ ${rep.requests - rep.unique} re-sends), sent in ${rep.elapsedS.toFixed(1)} s from another process\n` +
        `  statuses ${JSON.stringify(rep.statuses)}, client errors ${rep.errors}, re-sends answered duplicate ${rep.duplicatesAnswered}\n` +
        `  lost (${noRuns ? 'not accepted; --no-runs: no playbook' : 'no run started'}): ${lost}   duplicated runs: ${duplicatedRuns}   runs started for these alerts: ${started}\n` +
        `  accept latency ms (the ${seconds} s after warm-up): p50 ${f(rep.p50)}  p95 ${f(rep.p95)}  p99 ${f(rep.p99)}  max ${f(rep.max)}\n` +
        `  accept latency in the ${warmup} s of warm-up (${rep.warmup.requests} requests, not counted above): p95 ${f(rep.warmup.p95)} ms\n` +
        `  accept latency p95 of each second's requests: ${rep.perSecondP95.map((x) => x.toFixed(0)).join(' ')} ms\n` +
        `  intake ledger ${JSON.stringify(stack.web!.ledger.stats)}\n` +
        `where the server's time went in the measured seconds (ms, measured in the stack's process):\n` +
        timings.summary().map((t) => `  ${t.stage.padEnd(10)} p50 ${f(t.p50)}  p95 ${f(t.p95)}  p99 ${f(t.p99)}  max ${f(t.max)}  (n ${t.n})\n`).join('') +
        `  event-loop delay of the stack's process: p50 ${ms(loopDelay.percentile(50))}  p95 ${ms(loopDelay.percentile(95))}  p99 ${ms(loopDelay.percentile(99))}  max ${ms(loopDelay.max)}\n` +
        `  CPU of the stack's process during the load: ${(cpuShare * 100).toFixed(0)} % of one core (user ${(cpu.user / 1e6).toFixed(1)} s, system ${(cpu.system / 1e6).toFixed(1)} s)\n`,
    );
    if (!noRuns) {
      // alert posted → matching run started, one alert at a time (the load's runs have drained)
      const lat: number[] = [];
      for (let i = 0; i < 100; i++) {
        const t0 = performance.now();
        const res = await fetch(`${stack.web!.url}/alerts/alertmanager`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: singleAlert(`paced-${i}`) });
        const id = ((await res.json()) as { events: { eventId: string }[] }).events[0]!.eventId;
        for (const end = Date.now() + 5000; !startedAt.has(id) && Date.now() < end; ) await new Promise((r) => setTimeout(r, 1));
        if (startedAt.has(id)) lat.push(startedAt.get(id)! - t0);
      }
      process.stdout.write(`alert posted → run started, one at a time: p50 ${f(percentile(lat, 0.5))}  p95 ${f(percentile(lat, 0.95))}  max ${f(Math.max(...lat))} ms over ${lat.length} of 100 alerts\n`);
    }
    await op.close();
  } finally {
    await stack.stop();
    rmSync(home, { recursive: true, force: true });
  }
  if (!noFloor) {
    const fl = await noiseFloor();
    process.stdout.write(`noise floor (same client and warm-up, bare HTTP server answering 202): p50 ${f(fl.p50)}  p95 ${f(fl.p95)}  p99 ${f(fl.p99)}  max ${f(fl.max)} ms\n`);
  }
}

function singleAlert(fp: string): string {
  return JSON.stringify({
    version: '4', status: 'firing', receiver: 'homeostat', groupKey: fp, truncatedAlerts: 0, groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: '',
    alerts: [{ status: 'firing', labels: { alertname: 'BenchAlert', severity: 'critical', instance: fp }, annotations: {}, startsAt: new Date().toISOString(), endsAt: '0001-01-01T00:00:00Z', generatorURL: '', fingerprint: fp }],
  });
}

await main();
