import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import pino from 'pino';
import { BusClient, loadAclPolicy, startNatsServer } from '../bus/index.js';
import { loadSettings } from '../config/index.js';
import { openTriggerState, parsePlaybook, PlaybookEngine } from '../playbooks/index.js';
import { startTracing } from '../telemetry/index.js';

/**
 * Engine benchmark: `npm run build && node dist/bench/engine.js [--storm N] [--incidents N] [--durable]`.
 * A real nats-server on loopback with the project ACL; the engine on the main thread; a monitor
 * publishing events and a no-op remediator on a worker thread.
 */
const { values } = parseArgs({
  options: { storm: { type: 'string', default: '100000' }, incidents: { type: 'string', default: '1000' }, durable: { type: 'boolean', default: false }, 'kv-triggers': { type: 'boolean', default: false } },
});
/** `--durable`: events go through the HOMEOSTAT_EVENTS stream (monitor outbox → durable consumer), as in `homeostat up`. */
const DURABLE = values.durable;
/** `--kv-triggers`: dedupe, cooldown and budgets in the HOMEOSTAT_TRIGGERS KV bucket, as in `homeostat up` (default: in memory). */
const KV_TRIGGERS = values['kv-triggers'];
const STORM = Number(values.storm);
const INCIDENTS = Number(values.incidents);
const ACTIONS = ['bench.noop'];

const STORM_PB = `name: storm
on:
  event: events.bench.storm
  when: event.data.cpu > 80.0
  dedupe: { key: "{{ event.target }}", window: 10m }
  cooldown: 10m
steps:
  - id: fix
    action: bench.noop
    with: { target: "{{ event.target }}" }
`;
const INCIDENT_PB = `name: incident
on:
  event: events.bench.incident
  when: event.data.cpu > 80.0
steps:
  - id: fix
    action: bench.noop
    with: { target: "{{ event.target }}" }
`;

type WorkerMessage = { kind: 'ready' } | { kind: 'published'; count: number; ms: number } | { kind: 'stopped'; actions: number };

function next(worker: Worker, kind: WorkerMessage['kind']): Promise<WorkerMessage> {
  return new Promise((resolve) => {
    const f = (m: WorkerMessage) => {
      if (m.kind !== kind) return;
      worker.off('message', f);
      resolve(m);
    };
    worker.on('message', f);
  });
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const settings = loadSettings(process.env, false);
const log = pino({ level: 'silent' });
// tracing on when OTEL_EXPORTER_OTLP_ENDPOINT is set (bench/tracing.ts compares both), as in `homeostat engine`
const tracing = startTracing({ endpoint: settings.otlpEndpoint, serviceName: 'homeostat-bench-engine', log });
const dir = mkdtempSync(join(tmpdir(), 'homeostat-bench-'));
const nats = await startNatsServer({ dir, policy: loadAclPolicy(settings.aclFile), log });
const worker = new Worker(new URL('./engine-worker.js', import.meta.url), { workerData: { monitor: nats.credentials('monitor'), handler: nats.credentials('handler'), durable: DURABLE } });
await next(worker, 'ready');
const engineBus = await BusClient.connect(nats.credentials('engine'), 'engine', log);
const pbs = [parsePlaybook('storm.yaml', STORM_PB, { actions: ACTIONS }), parsePlaybook('incident.yaml', INCIDENT_PB, { actions: ACTIONS })];
const engine = new PlaybookEngine({ bus: engineBus, playbooks: pbs, log, keepRuns: INCIDENTS + 10, ...(KV_TRIGGERS ? { triggerState: await openTriggerState(engineBus) } : {}) });

// time the engine's own handling of each event: its `events` counter, read every millisecond
let first = 0;
let last = 0;
let target = Infinity;
let base = 0;
let reached: () => void = () => {};
const probe = setInterval(() => {
  const n = engine.stats.events - base;
  if (n > 0 && first === 0) first = performance.now();
  if (n >= target) {
    last = performance.now();
    target = Infinity;
    reached();
  }
}, 1);
let resolved = 0;
let allResolved: () => void = () => {};
let resolvedGoal = Infinity;
engineBus.nc.subscribe('runs.*.resolved', {
  callback: () => {
    if (++resolved >= resolvedGoal) allResolved();
  },
});
if (DURABLE) await engine.startDurable();
else engine.start();
await engineBus.flush();

process.stdout.write(`Homeostat engine benchmark — node ${process.version}, ${cpus().length} cores, nats-server on loopback (pid ${nats.pid}), events ${DURABLE ? 'through the durable stream (outbox → HOMEOSTAT_EVENTS → durable consumer)' : 'on core NATS'}, trigger state ${KV_TRIGGERS ? 'in the HOMEOSTAT_TRIGGERS KV bucket' : 'in memory'}\n`);

// 1. alert storm: N matching events for one target
base = engine.stats.events;
first = 0;
target = STORM;
const stormDone = new Promise<void>((r) => (reached = r));
const pubStorm = next(worker, 'published');
worker.postMessage({ kind: 'storm', subject: 'events.bench.storm', target: 'storm-1', count: STORM });
const published = (await pubStorm) as { ms: number };
await stormDone;
await engine.whenIdle();
const stormRuns = engine.runs.filter((r) => r.playbook === 'storm');
const ingest = STORM / ((last - first) / 1000);
const s = engine.stats;
process.stdout.write(
  `alert storm: ${fmt(STORM)} matching events for one target → ${stormRuns.length} run(s) (${stormRuns.map((r) => r.status).join(', ')}; attached ${fmt(s.attached)}, deduplicated ${fmt(s.deduplicated)}, cooldown ${fmt(s.cooldown)})\n` +
    `  engine ingested ${fmt(STORM)} events in ${((last - first) / 1000).toFixed(2)} s = ${fmt(ingest)} events/s (publisher sent them in ${(published.ms / 1000).toFixed(2)} s)` +
    `  [goal: exactly 1 run, ≥ 20,000 events/s: ${stormRuns.length === 1 && ingest >= 20_000 ? 'MET' : 'NOT MET'}]\n`,
);

// 2. distinct incidents: one event per target, no-op action
base = engine.stats.events;
first = 0;
target = INCIDENTS;
resolved = 0;
resolvedGoal = INCIDENTS;
const runsDone = new Promise<void>((r) => (allResolved = r));
const t0 = performance.now();
worker.postMessage({ kind: 'incidents', subject: 'events.bench.incident', count: INCIDENTS });
await runsDone;
const elapsed = (performance.now() - t0) / 1000;
const incidentRuns = engine.runs.filter((r) => r.playbook === 'incident');
const rate = INCIDENTS / elapsed;
process.stdout.write(
  `incidents: ${fmt(INCIDENTS)} targets → ${fmt(incidentRuns.length)} runs, ${fmt(incidentRuns.filter((r) => r.status === 'resolved').length)} resolved in ${elapsed.toFixed(2)} s (first event published → last run resolved) = ${fmt(rate)} runs/s` +
    `  [goal ≥ 200 runs/s: ${rate >= 200 && incidentRuns.length === INCIDENTS ? 'MET' : 'NOT MET'}]\n`,
);

clearInterval(probe);
worker.postMessage({ kind: 'stop' });
await next(worker, 'stopped');
await worker.terminate();
await engineBus.close();
if (tracing) {
  await tracing.shutdown();
  process.stdout.write(`tracing: ${fmt(tracing.stats.exported)} spans exported, ${fmt(tracing.stats.dropped)} dropped\n`);
}
await nats.stop();
rmSync(dir, { recursive: true, force: true });
