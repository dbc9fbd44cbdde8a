import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../bus/index.js';
import { PG_TEST_URL, uniqueSchema } from '../test/postgres.js';
import { downtimeOf, openStore, type RunRecord, type Store } from './index.js';
import pg from 'pg';

const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

interface Adapter {
  name: string;
  open(): Promise<Store>;
  release(): Promise<void>;
}

const adapters: Adapter[] = [
  (() => {
    const schema = uniqueSchema('store');
    return {
      name: 'pg',
      open: () => openStore({ databaseUrl: PG_TEST_URL, storeDir: '/nonexistent', schema, log }),
      async release() {
        const c = new pg.Client({ connectionString: PG_TEST_URL });
        await c.connect();
        await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await c.end();
      },
    };
  })(),
  (() => {
    const dir = mkdtempSync(join(tmpdir(), 'homeostat-pglite-'));
    return {
      name: 'embedded',
      open: () => openStore({ storeDir: dir, log }),
      release: async () => rmSync(dir, { recursive: true, force: true }),
    };
  })(),
];

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));

function run(over: Partial<RunRecord> = {}): RunRecord {
  return {
    id: newId(), incidentId: null, playbook: 'heartbeat-restart', target: 'worker-1', eventId: newId(), signature: 'events.heartbeat.missed',
    status: 'running', reason: null, startedAt: at(1), endedAt: null, durationMs: null, traceId: null, ...over,
  };
}

describe.each(adapters)('store ($name adapter)', (adapter) => {
  let store: Store;
  beforeAll(async () => {
    store = await adapter.open();
  });
  afterAll(async () => {
    await store?.close();
    await adapter.release();
  });

  it('records an incident, its run, steps and action calls, and reads them back', async () => {
    const incidentId = newId();
    await store.saveIncident({
      id: incidentId, target: 'worker-1', family: 'heartbeat', signature: 'events.heartbeat.missed', status: 'remediating',
      openedAt: at(0), updatedAt: at(1), lastEventAt: at(0), resolvedAt: null, mttrMs: null, eventCount: 1, runCount: 1, reopened: 0, traceId: null, downtimeMs: null, downtimeAvoidedMs: null, downtimeCost: null, costAvoided: null, 
      errorLogs: [{ time: at(0).toISOString(), subject: 'events.heartbeat.missed', message: 'missedIntervals=3' }], metrics: { missedIntervals: 3 },
    });
    const r = run({ incidentId });
    await store.saveRun(r);
    const actionId = newId();
    await store.saveAction({
      id: actionId, runId: r.id, stepSeq: null, action: 'process.restart', target: 'worker-1', params: { target: 'worker-1' }, status: 'ok',
      requestedAt: at(1), completedAt: at(2), durationMs: 812.5, exitCode: 0, stdout: 'x'.repeat(20_000), stderr: '', error: null, result: { pid: 42 },
      command: 'kill -TERM 41 && start demo-worker', healthBeforePct: 3.5, healthAfterPct: 97.25,
    });
    await store.saveStep(
      {
        runId: r.id, seq: 1, step: 'restart', action: 'process.restart', params: { target: 'worker-1' }, status: 'ok', error: null, exitCode: 0,
        stdout: 'y'.repeat(20_000), stderr: null, result: { pid: 42 }, durationMs: 812.5, attempts: 1, healthBefore: { healthy: false },
        healthAfter: { healthy: true }, startedAt: at(1), endedAt: at(2),
      },
      [actionId],
    );
    await store.saveRun({ ...r, status: 'resolved', endedAt: at(3), durationMs: 2000 });

    const detail = await store.getRun(r.id.slice(0, 10));
    expect(detail?.run).toMatchObject({ id: r.id, status: 'resolved', durationMs: 2000, incidentId });
    expect(detail?.incident).toMatchObject({ id: incidentId, metrics: { missedIntervals: 3 }, errorLogs: [{ message: 'missedIntervals=3' }] });
    expect(detail?.steps).toHaveLength(1);
    expect(detail?.steps[0]).toMatchObject({ step: 'restart', exitCode: 0, attempts: 1, healthBefore: { healthy: false }, healthAfter: { healthy: true } });
    expect(detail?.steps[0]?.stdout).toHaveLength(8192);
    expect(detail?.actions[0]).toMatchObject({ id: actionId, stepSeq: 1, status: 'ok', result: { pid: 42 }, command: 'kill -TERM 41 && start demo-worker', healthBeforePct: 3.5, healthAfterPct: 97.25 });
    expect(detail?.actions[0]?.stdout).toHaveLength(8192);
    const runs = await store.listRuns({ limit: 5 });
    expect(runs.find((x) => x.id === r.id)?.stepCount).toBe(1);
  });

  it('keeps the runbook per event signature and prefers the playbook that worked', async () => {
    const signature = `events.test.${newId().slice(0, 8)}`;
    await store.saveRun(run({ signature, playbook: 'restart', status: 'failed', startedAt: at(1), endedAt: at(2), durationMs: 1000 }));
    await store.saveRun(run({ signature, playbook: 'flush', status: 'resolved', startedAt: at(3), endedAt: at(4), durationMs: 400 }));
    const again = run({ signature, playbook: 'flush', status: 'resolved', startedAt: at(5), endedAt: at(6), durationMs: 600 });
    await store.saveRun(again);
    await store.saveRun(again); // a retried write counts once
    const book = await store.runbook({ signature });
    expect(book.map((b) => [b.playbook, b.runs, b.resolved, b.failed])).toEqual([
      ['flush', 2, 2, 0],
      ['restart', 1, 0, 1],
    ]);
    expect(book[0]).toMatchObject({ lastRunId: again.id, lastStatus: 'resolved', avgResolveMs: 500 });
    expect(await store.preferredPlaybook(signature)).toBe('flush');
    expect(await store.preferredPlaybook('events.never.seen')).toBeNull();
  });

  it('keeps approvals and blacklist entries, lifting and expiring entries', async () => {
    const r = run();
    await store.saveRun(r);
    await store.saveApproval({ runId: r.id, step: 'flush', decision: 'reject', decidedBy: 'operator', reason: 'not now', decidedAt: at(2) });
    expect((await store.getRun(r.id))?.approvals).toEqual([{ runId: r.id, step: 'flush', decision: 'reject', decidedBy: 'operator', reason: 'not now', decidedAt: at(2) }]);
    const now = new Date();
    const actor = `rogue-${newId().slice(0, 6)}`;
    const a = await store.addBlacklistEntry({ actor, reason: 'flood', createdBy: 'acl-monitor', createdAt: now, expiresAt: new Date(now.getTime() + 60_000) });
    const b = await store.addBlacklistEntry({ actor: `${actor}-2`, reason: 'flood', createdBy: 'acl-monitor', createdAt: now, expiresAt: new Date(now.getTime() - 1) });
    const c = await store.addBlacklistEntry({ actor: `${actor}-3`, reason: 'flood', createdBy: 'operator', createdAt: now, expiresAt: null });
    await store.liftBlacklistEntry(c, new Date());
    const active = (await store.activeBlacklist()).map((e) => e.id);
    expect(active).toContain(a);
    expect(active).not.toContain(b);
    expect(active).not.toContain(c);
  });

  it('records a step whose run was not recorded yet (the run row is created, and filled in later)', async () => {
    const r = run();
    await store.saveStep({
      runId: r.id, seq: 1, step: 'restart', action: null, params: null, status: 'failed', error: 'no result within 10000 ms', exitCode: null,
      stdout: null, stderr: null, result: null, durationMs: 10_000, attempts: 3, healthBefore: null, healthAfter: null, startedAt: null, endedAt: at(9),
    });
    expect((await store.getRun(r.id))?.run).toMatchObject({ playbook: 'unknown', status: 'running', startedAt: at(9) });
    await store.saveRun({ ...r, status: 'failed', endedAt: at(10), durationMs: 9000 });
    const detail = await store.getRun(r.id);
    expect(detail?.run).toMatchObject({ playbook: 'heartbeat-restart', status: 'failed', startedAt: at(1) });
    expect(detail?.steps).toMatchObject([{ step: 'restart', attempts: 3, error: 'no result within 10000 ms' }]);
  });

  it('lists incidents newest first, filtered by status', async () => {
    const target = `t-${newId().slice(0, 6)}`;
    for (const [i, status] of (['resolved', 'open', 'failed'] as const).entries()) {
      await store.saveIncident({
        id: newId(), target, family: 'heartbeat', signature: 'events.heartbeat.missed', status, openedAt: at(10 + i), updatedAt: at(10 + i),
        lastEventAt: at(10 + i), resolvedAt: status === 'resolved' ? at(20) : null, mttrMs: status === 'resolved' ? 10_000 : null,
        eventCount: 1, runCount: 0, reopened: 0, errorLogs: [], metrics: {}, traceId: status === 'resolved' ? 'a'.repeat(32) : null,
        ...(status === 'resolved' ? downtimeOf(10_000, { costPerMinute: 60, manualMttrMs: 70_000 }) : { downtimeMs: null, downtimeAvoidedMs: null, downtimeCost: null, costAvoided: null }),
      });
    }
    expect((await store.listIncidents({ target })).map((i) => i.status)).toEqual(['failed', 'open', 'resolved']);
    expect((await store.listIncidents({ target, status: 'resolved' }))[0]).toMatchObject({ mttrMs: 10_000, traceId: 'a'.repeat(32), downtimeMs: 10_000, downtimeAvoidedMs: 60_000, downtimeCost: 10, costAvoided: 60 });
    expect((await store.activeIncidents()).some((i) => i.target === target && i.status === 'open')).toBe(true);
  });
});
