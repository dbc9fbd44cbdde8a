/**
 * Store benchmark: how long the recorder takes to write one step record, and how long listing the
 * last 50 runs takes after 10,000 incidents. Runs on the embedded store, and on PostgreSQL too when
 * DATABASE_URL is set (in a throwaway schema, dropped afterwards). Both use `durability: 'relaxed'`,
 * as the recorder does in `homeostat up`.
 *
 *   npm run build && DATABASE_URL=postgres://postgres@127.0.0.1:5432/test node dist/bench/store.js
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { BusClient, loadAclPolicy, newId, startNatsServer, subjects } from '../bus/index.js';
import { loadSettings } from '../config/index.js';
import { openStore, Recorder, type Store } from '../store/index.js';
import type { SqlStore } from '../store/sql-store.js';

const STEP_GOAL_P95_MS = 5;
const LIST_GOAL_MS = 50;
const RUNS = Number(process.argv[2] ?? 300);
const INCIDENTS = 10_000;

const log = pino({ level: 'silent' });
const settings = loadSettings();

function pct(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? NaN;
}

interface Figures {
  adapter: string;
  stepP50: number;
  stepP95: number;
  stepMax: number;
  steps: number;
  listP50: number;
  listP95: number;
}

async function recordSteps(store: Store, dir: string): Promise<{ p50: number; p95: number; max: number; count: number }> {
  const nats = await startNatsServer({ dir, policy: loadAclPolicy(settings.aclFile), log });
  const buses: BusClient[] = [];
  try {
    const connect = async (role: string) => {
      const b = await BusClient.connect(nats.credentials(role), `bench-${role}`, log);
      buses.push(b);
      return b;
    };
    const recorder = new Recorder({ bus: await connect('recorder'), store, log });
    await recorder.start();
    const [engine, handler, monitor] = [await connect('engine'), await connect('handler'), await connect('monitor')];
    for (let i = 0; i < RUNS; i++) {
      const target = `worker-${i % 10}`;
      const runId = newId();
      const ev = monitor.publish(subjects.event('heartbeat', 'missed'), 'heartbeat.missed', { target, missedIntervals: 3 }, { target });
      const base = { runId, playbook: 'heartbeat-restart', target, eventId: ev.id };
      engine.publish(subjects.run(runId, 'started'), 'run.started', base, { target });
      for (const [step, action] of [['restart', 'process.restart'], ['verify', 'target.health']] as const) {
        const actionId = newId();
        const [family, verb] = action.split('.') as [string, string];
        engine.publish(subjects.action(family, verb), 'action.request', { actionId, runId, action, target, params: { target } }, { target });
        handler.publish(subjects.result(actionId), 'action.result', { actionId, action, status: 'ok', durationMs: 3, result: { healthy: true }, stdout: 'ok\n' });
        await handler.flush();
        engine.publish(subjects.run(runId, 'step'), 'run.step', { ...base, step, status: 'ok', durationMs: 5 }, { target });
      }
      engine.publish(subjects.run(runId, 'resolved'), 'run.resolved', { ...base, durationMs: 20 }, { target });
      await engine.flush();
      // Pace like real remediation (steps are milliseconds to seconds apart), so the figure is the
      // write itself rather than time spent behind a burst.
      if (i % 10 === 9) await recorder.idle();
    }
    await Promise.all(buses.map((b) => b.flush()));
    while (recorder.stats().steps < RUNS * 2) await new Promise((r) => setTimeout(r, 20));
    await recorder.idle();
    const s = recorder.stats().writeMs.step!;
    await recorder.stop();
    return { p50: s.p50, p95: s.p95, max: s.max, count: s.count };
  } finally {
    for (const b of buses) await b.close();
    await nats.stop();
  }
}

async function seedAndList(store: Store): Promise<{ p50: number; p95: number }> {
  const q = (store as SqlStore).client;
  await q.query(`INSERT INTO incidents (id, target, family, signature, status, opened_at, updated_at, last_event_at, resolved_at, mttr_ms, event_count, run_count)
    SELECT 'bench-inc-' || g, 'worker-' || (g % 10), 'heartbeat', 'events.heartbeat.missed', 'resolved', t, t + interval '1 s', t, t + interval '1 s', 1000, 1, 1
    FROM generate_series(1, ${INCIDENTS}) g, LATERAL (SELECT now() - (${INCIDENTS} - g) * interval '1 minute' AS t) x`);
  await q.query(`INSERT INTO runs (id, incident_id, playbook, target, event_id, signature, status, started_at, ended_at, duration_ms)
    SELECT 'bench-run-' || g, 'bench-inc-' || g, 'heartbeat-restart', 'worker-' || (g % 10), 'ev-' || g, 'events.heartbeat.missed', 'resolved', t, t + interval '1 s', 1000
    FROM generate_series(1, ${INCIDENTS}) g, LATERAL (SELECT now() - (${INCIDENTS} - g) * interval '1 minute' AS t) x`);
  await q.query(`INSERT INTO steps (run_id, seq, step, action, params, status, exit_code, stdout, duration_ms, attempt, ended_at)
    SELECT 'bench-run-' || g, s, CASE s WHEN 1 THEN 'restart' ELSE 'verify' END, 'process.restart', '{}'::jsonb, 'ok', 0, 'ok', 5, 1, now()
    FROM generate_series(1, ${INCIDENTS}) g, generate_series(1, 2) s`);
  await q.query('ANALYZE');
  const times: number[] = [];
  for (let i = 0; i < 50; i++) {
    const t0 = performance.now();
    const runs = await store.listRuns({ limit: 50 });
    times.push(performance.now() - t0);
    if (runs.length !== 50) throw new Error(`expected 50 runs, got ${runs.length}`);
  }
  return { p50: pct(times, 0.5), p95: pct(times, 0.95) };
}

async function bench(adapter: string, open: () => Promise<Store>, release: () => Promise<void>): Promise<Figures> {
  const dir = mkdtempSync(join(tmpdir(), 'homeostat-bench-'));
  const store = await open();
  try {
    const steps = await recordSteps(store, dir);
    const list = await seedAndList(store);
    return { adapter, stepP50: steps.p50, stepP95: steps.p95, stepMax: steps.max, steps: steps.count, listP50: list.p50, listP95: list.p95 };
  } finally {
    await store.close();
    await release();
    rmSync(dir, { recursive: true, force: true });
  }
}

const results: Figures[] = [];
const embeddedDir = mkdtempSync(join(tmpdir(), 'homeostat-bench-store-'));
results.push(await bench('embedded (PGlite)', () => openStore({ storeDir: embeddedDir, log, durability: 'relaxed' }), async () => rmSync(embeddedDir, { recursive: true, force: true })));
if (settings.databaseUrl) {
  const schema = `bench_${newId().slice(0, 10)}`;
  const url = settings.databaseUrl;
  results.push(
    await bench('pg', () => openStore({ databaseUrl: url, schema, storeDir: embeddedDir, log, durability: 'relaxed' }), async () => {
      const s = await openStore({ databaseUrl: url, schema, storeDir: embeddedDir, log, migrate: false });
      await (s as SqlStore).client.query(`DROP SCHEMA "${schema}" CASCADE`);
      await s.close();
    }),
  );
} else {
  process.stdout.write('DATABASE_URL not set: PostgreSQL not measured (embedded store only)\n');
}

const f = (n: number) => n.toFixed(2).padStart(8);
process.stdout.write(`\nstore benchmark: ${RUNS} runs × 2 steps recorded through a real nats-server; then ${INCIDENTS} incidents (with runs and steps), list the last 50 runs ×50\n\n`);
process.stdout.write(`adapter               step write p50   p95 (goal ≤ ${STEP_GOAL_P95_MS})      max   steps   list 50 runs p50   p95 (goal < ${LIST_GOAL_MS})\n`);
let ok = true;
for (const r of results) {
  const pass = r.stepP95 <= STEP_GOAL_P95_MS && r.listP95 < LIST_GOAL_MS;
  ok &&= pass;
  process.stdout.write(`${r.adapter.padEnd(20)} ${f(r.stepP50)} ms ${f(r.stepP95)} ms       ${f(r.stepMax)} ms ${String(r.steps).padStart(6)}   ${f(r.listP50)} ms ${f(r.listP95)} ms   ${pass ? 'PASS' : 'FAIL'}\n`);
}
process.exitCode = ok ? 0 : 1;
