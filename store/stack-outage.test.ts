import { describe, expect, it } from 'vitest';
import { BusClient, RunPhaseData, StoreDegradedData, StoreRecoveredData } from '../bus/index.js';
import { startStack } from '../stack/index.js';
import { loadSettings } from '../config/index.js';
import { throwawayCluster } from '../test/postgres.js';
import { nextMessage, setup } from '../test/setup.js';

describe('the stack while PostgreSQL is stopped (throwaway cluster)', () => {
  it('remediates anyway, warns that the store is degraded, and records the run when the database returns', async () => {
    await using ctx = await setup();
    await using cluster = await throwawayCluster();
    const settings = loadSettings({ ...process.env, DATABASE_URL: cluster.url, HOMEOSTAT_LOG_FORMAT: 'json' }, false);
    const stack = await startStack({ settings, log: ctx.log, chaos: false });
    ctx.defer(() => stack.stop());
    expect(stack.store?.kind).toBe('pg');
    const op = await BusClient.connect(stack.credentials('operator'), 'test-operator', ctx.log);
    ctx.defer(() => op.close());

    // freeze the worker once it beats (frozen before its first beat, it is judged after the heartbeat's start grace, by its http check)
    const beating = nextMessage(op, 'heartbeat.worker-1', () => true, 10_000);
    await op.flush();
    await beating;
    const degraded = nextMessage(op, 'events.store.degraded', () => true, 30_000, StoreDegradedData);
    const resolved = nextMessage(op, 'runs.*.resolved', (e) => e.data.target === 'worker-1', 30_000, RunPhaseData);
    await op.flush();
    await cluster.stop();

    // The fault: worker-1 stops heartbeating (what chaos.heartbeat_pause does).
    const worker = stack.registry.get('worker-1').driver;
    for (const pid of await worker.pids()) process.kill(pid, 'SIGSTOP');

    const run = await resolved;
    expect(run.data.playbook).toBe('heartbeat-restart');
    await degraded;
    expect(stack.recorder!.stats().degraded).toBe(true);

    const recovered = nextMessage(op, 'events.store.recovered', () => true, 60_000, StoreRecoveredData);
    await op.flush();
    await cluster.start();
    await recovered;
    await stack.recorder!.idle();
    const detail = await stack.store!.getRun(run.data.runId);
    expect(detail?.run).toMatchObject({ status: 'resolved', playbook: 'heartbeat-restart', target: 'worker-1', signature: 'events.heartbeat.missed' });
    expect(detail?.steps.map((s) => [s.step, s.status])).toEqual([
      ['restart', 'ok'],
      ['verify', 'ok'],
    ]);
    expect(detail?.incident).toMatchObject({ target: 'worker-1', family: 'heartbeat', status: 'resolved' });
    expect(stack.recorder!.stats()).toMatchObject({ dropped: 0, failed: 0 });
  });
});
