import { describe, expect, it } from 'vitest';
import { newId, StoreDegradedData, StoreRecoveredData, subjects } from '../bus/index.js';
import { eventually, nextMessage, setup } from '../test/setup.js';
import { throwawayCluster } from '../test/postgres.js';
import { openStore, Recorder } from './index.js';

describe('Recorder when PostgreSQL stops (throwaway cluster)', () => {
  it('keeps records in memory, says the store is degraded, writes them when the database returns, and counts what overflowed', async () => {
    await using ctx = await setup();
    await using cluster = await throwawayCluster();
    const store = await openStore({ databaseUrl: cluster.url, storeDir: '/nonexistent', log: ctx.log });
    ctx.defer(() => store.close());
    const recorder = new Recorder({ bus: await ctx.connect('recorder'), store, log: ctx.log, queueCapacity: 40 });
    await recorder.start();
    ctx.defer(() => recorder.stop(100));
    const engine = await ctx.connect('engine');
    const operator = await ctx.connect('operator');
    const phase = (runId: string, p: 'started' | 'step' | 'resolved', extra: Record<string, unknown> = {}) =>
      engine.publish(subjects.run(runId, p), `run.${p}`, { runId, playbook: 'heartbeat-restart', target: 'worker-1', ...extra }, { target: 'worker-1' });

    const before = newId();
    phase(before, 'started');
    phase(before, 'resolved', { durationMs: 5 });
    await engine.flush();
    await eventually(async () => expect((await store.getRun(before))?.run.status).toBe('resolved'), 15_000, 100);

    const degraded = nextMessage(operator, 'events.store.degraded', () => true, 20_000, StoreDegradedData);
    const recovered = nextMessage(operator, 'events.store.recovered', () => true, 60_000, StoreRecoveredData);
    await operator.flush();
    await cluster.stop();

    const during = newId();
    phase(during, 'started');
    const actionId = newId();
    engine.publish(subjects.action('process', 'restart'), 'action.request', { actionId, runId: during, action: 'process.restart', target: 'worker-1', params: {} });
    phase(during, 'step', { step: 'restart', status: 'ok', durationMs: 20 });
    phase(during, 'resolved', { durationMs: 30 });
    await engine.flush();
    const d = await degraded;
    expect(d.data).toMatchObject({ store: 'pg' });
    expect(d.data.location).toContain(`127.0.0.1:${cluster.port}`);
    expect(recorder.stats().degraded).toBe(true);

    // Remediation traffic goes on while the database is away: more records than the queue holds.
    for (let i = 0; i < 60; i++) {
      engine.publish(subjects.action('notify', 'send'), 'action.request', { actionId: newId(), action: 'notify.send', params: { message: `m${i}` } });
    }
    await engine.flush();
    await eventually(async () => expect(recorder.stats().dropped).toBeGreaterThan(0), 15_000, 100);
    const dropped = recorder.stats().dropped;

    await cluster.start();
    const r = await recovered;
    expect(r.data.downMs).toBeGreaterThan(0);
    expect(r.data.dropped).toBe(dropped);
    await recorder.idle();
    const detail = await store.getRun(during);
    expect(detail?.run).toMatchObject({ status: 'resolved', durationMs: 30 });
    expect(detail?.steps).toMatchObject([{ step: 'restart', action: 'process.restart', status: 'ok' }]);
    expect(detail?.actions.map((a) => a.id)).toEqual([actionId]);
    expect(recorder.stats()).toMatchObject({ degraded: false, queued: 0, failed: 0 });
  });
});
