/**
 * Intake load: a separate process POSTs 1,000 Alertmanager alerts/s for 10 s (one alert per body, every
 * 10th re-sent) to a stack's intake; the stack runs the library playbook `alert-critical-notify`
 * for each (log sink only). Prints lost alerts (accepted, no run), duplicated runs, and the accept
 * latency percentiles measured by the client.
 *
 *   npm run build && node dist/bench/intake-load.js [--rate 1000] [--seconds 10] [--no-runs]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { BusClient, RunPhaseData } from '../bus/index.js';
import { loadSettings } from '../config/index.js';
import { startStack } from '../stack/index.js';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  return Number.isFinite(v) && v > 0 ? v : dflt;
};
const rate = arg('rate', 1000);
const seconds = arg('seconds', 10);
/** The intake alone: no playbook, so no run competes with it for the process. */
const noRuns = process.argv.includes('--no-runs');

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
  accepted: string[];
}

async function main(): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'homeostat-bench-intake-'));
  const settings = loadSettings({ ...process.env, NATS_URL: undefined, HOMEOSTAT_HOME: home, HOMEOSTAT_NOTIFY: join(home, 'none.yaml'), HOMEOSTAT_LOG_FORMAT: 'json', LOG_LEVEL: 'error' }, false);
  const log = pino({ level: 'fatal' }); // runs still in flight when the stack stops log errors
  const stack = await startStack({ settings, log, targets: [], chaos: false, record: false, ...(noRuns ? { playbooks: [] } : {}) });
  try {
    const token = readFileSync(settings.intakeTokenFile, 'utf8').trim();
    const op = await BusClient.connect(stack.credentials('operator'), 'bench-operator', log);
    const runs = new Map<string, number>();
    op.subscribe('runs.*.started', RunPhaseData, (env) => {
      if (env.data.eventId) runs.set(env.data.eventId, (runs.get(env.data.eventId) ?? 0) + 1);
    });
    await op.flush();
    const client = spawn(process.execPath, [join(dirname(fileURLToPath(import.meta.url)), 'intake-load-client.js'), stack.web!.url, token, String(rate), String(seconds), '10'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    client.stdout.on('data', (c: Buffer) => (out += c.toString()));
    await new Promise((r) => client.once('exit', r));
    const rep = JSON.parse(out) as ClientReport;
    // every accepted alert's run starts (wait up to 60 s for the engine to drain); --no-runs: the intake alone, lost = not accepted
    for (let end = Date.now() + 60_000; !noRuns && rep.accepted.some((id) => !runs.has(id)) && Date.now() < end; ) await new Promise((r) => setTimeout(r, 100));
    const lost = rep.unique - (noRuns ? rep.accepted.length : rep.accepted.filter((id) => runs.has(id)).length);
    const mine = new Set(rep.accepted);
    const duplicatedRuns = [...runs].filter(([id, n]) => mine.has(id) && n > 1).length;
    const started = [...runs.keys()].filter((id) => mine.has(id)).length;
    const f = (n: number) => n.toFixed(2);
    process.stdout.write(
      `intake load: ${rep.unique} unique alerts at ${rate}/s for ${seconds} s (+ ${rep.requests - rep.unique} re-sends), sent in ${rep.elapsedS.toFixed(1)} s from another process\n` +
        `  statuses ${JSON.stringify(rep.statuses)}, client errors ${rep.errors}, re-sends answered duplicate ${rep.duplicatesAnswered}\n` +
        `  lost (${noRuns ? 'not accepted; --no-runs: no playbook' : 'no run started'}): ${lost}   duplicated runs: ${duplicatedRuns}   runs started for these alerts: ${started}\n` +
        `  accept latency ms: p50 ${f(rep.p50)}  p95 ${f(rep.p95)}  p99 ${f(rep.p99)}  max ${f(rep.max)}\n` +
        `  intake ledger ${JSON.stringify(stack.web!.ledger.stats)}\n`,
    );
    await op.close();
  } finally {
    await stack.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

await main();
