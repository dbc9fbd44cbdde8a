import { describe, expect, it } from 'vitest';
import { newId, subjects, type BusClient } from '../bus/index.js';
import { eventually, setup, type TestContext } from '../test/setup.js';
import { throwawaySchema } from '../test/postgres.js';
import { openStore, Recorder } from './index.js';

async function startRecorder(ctx: TestContext, url: string, schema: string, windowMs = 60_000) {
  const store = await openStore({ databaseUrl: url, schema, storeDir: '/nonexistent', log: ctx.log });
  ctx.defer(() => store.close());
  const recorder = new Recorder({ bus: await ctx.connect('recorder'), store, log: ctx.log, incidentWindowMs: windowMs });
  await recorder.start();
  ctx.defer(() => recorder.stop());
  return { store, recorder };
}

/** Publishes what the engine and a handler publish for one action call. */
async function actionCall(engine: BusClient, handler: BusClient, runId: string, action: string, target: string, result: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const actionId = newId();
  const [family, verb] = action.split('.') as [string, string];
  engine.publish(subjects.action(family, verb), 'action.request', { actionId, runId, action, target, params: { target } }, { target });
  await engine.flush();
  handler.publish(subjects.result(actionId), 'action.result', { actionId, action, status: 'ok', durationMs: 12.5, result, ...extra }, { target });
  await handler.flush();
  return actionId;
}

describe('Recorder', () => {
  it('records the incident, the run, its steps with outputs and health, and the runbook from the bus', async () => {
    await using ctx = await setup();
    await using pg = await throwawaySchema('rec');
    const { store } = await startRecorder(ctx, pg.url, pg.schema);
    const monitor = await ctx.connect('monitor');
    const engine = await ctx.connect('engine');
    const handler = await ctx.connect('handler');
    const runId = newId();
    const run = { runId, playbook: 'heartbeat-restart', target: 'worker-1' };

    const event = monitor.publish(subjects.event('heartbeat', 'missed'), 'heartbeat.missed', { target: 'worker-1', lastSeen: null, missedIntervals: 3, intervalMs: 100 }, { target: 'worker-1' });
    await monitor.flush();
    engine.publish(subjects.run(runId, 'started'), 'run.started', { ...run, eventId: event.id }, { target: 'worker-1' });
    const restart = await actionCall(engine, handler, runId, 'process.restart', 'worker-1', { pid: 4242 }, { exitCode: 0, stdout: 'restarted worker-1' });
    engine.publish(subjects.run(runId, 'step'), 'run.step', { ...run, step: 'restart', status: 'ok', durationMs: 30 }, { target: 'worker-1' });
    await actionCall(engine, handler, runId, 'target.health', 'worker-1', { healthy: false, running: true });
    const probe = await actionCall(engine, handler, runId, 'target.health', 'worker-1', { healthy: true, running: true });
    engine.publish(subjects.run(runId, 'step'), 'run.step', { ...run, step: 'verify', status: 'ok', durationMs: 80 }, { target: 'worker-1' });
    engine.publish(subjects.run(runId, 'resolved'), 'run.resolved', { ...run, durationMs: 150 }, { target: 'worker-1' });
    await engine.flush();
    monitor.publish(subjects.event('heartbeat', 'restored'), 'heartbeat.restored', { target: 'worker-1', outageMs: 400 }, { target: 'worker-1' });
    await monitor.flush();

    await eventually(async () => {
      const detail = await store.getRun(runId);
      expect(detail?.run).toMatchObject({ status: 'resolved', durationMs: 150, playbook: 'heartbeat-restart', signature: 'events.heartbeat.missed' });
      expect(detail?.steps.map((s) => [s.step, s.action, s.status, s.attempts])).toEqual([
        ['restart', 'process.restart', 'ok', 1],
        ['verify', 'target.health', 'ok', 2],
      ]);
      expect(detail?.steps[0]).toMatchObject({ exitCode: 0, stdout: 'restarted worker-1', params: { target: 'worker-1' }, healthAfter: { healthy: true } });
      expect(detail?.steps[1]).toMatchObject({ result: { healthy: true }, healthAfter: { healthy: true } });
      expect(detail?.actions.map((a) => [a.id, a.stepSeq, a.status])).toContainEqual([restart, 1, 'ok']);
      expect(detail?.actions.map((a) => [a.id, a.stepSeq])).toContainEqual([probe, 2]);
      expect(detail?.incident).toMatchObject({ target: 'worker-1', family: 'heartbeat', status: 'resolved', eventCount: 2, runCount: 1, metrics: { missedIntervals: 3, outageMs: 400 } });
      expect(detail?.incident?.mttrMs).toBeGreaterThanOrEqual(0);
      expect(await store.runbook()).toMatchObject([{ signature: 'events.heartbeat.missed', playbook: 'heartbeat-restart', runs: 1, resolved: 1 }]);
    });
  });

  it('groups related events into incidents and follows their lifecycle to failed and reopened', async () => {
    await using ctx = await setup();
    await using pg = await throwawaySchema('rec');
    const { store, recorder } = await startRecorder(ctx, pg.url, pg.schema);
    const monitor = await ctx.connect('monitor');
    const engine = await ctx.connect('engine');
    const missed = (target: string) =>
      monitor.publish(subjects.event('heartbeat', 'missed'), 'heartbeat.missed', { target, lastSeen: null, missedIntervals: 3, intervalMs: 100 }, { target });

    const first = missed('a');
    missed('a');
    missed('b');
    monitor.publish(subjects.event('resource', 'cpu_pressure'), 'resource.cpu_pressure', { target: 'a', cpuPct: 97 }, { target: 'a' });
    monitor.publish(subjects.event('store', 'degraded'), 'store.degraded', { target: 'a' }, { target: 'a' });
    await monitor.flush();
    const runId = newId();
    const run = { runId, playbook: 'heartbeat-restart', target: 'a', eventId: first.id };
    engine.publish(subjects.run(runId, 'started'), 'run.started', run, { target: 'a' });
    engine.publish(subjects.run(runId, 'step'), 'run.step', { ...run, step: 'restart', status: 'failed', reason: 'no result within 10000 ms' }, { target: 'a' });
    engine.publish(subjects.run(runId, 'failed'), 'run.failed', { ...run, reason: 'step restart failed: no result within 10000 ms' }, { target: 'a' });
    await engine.flush();

    await eventually(async () => {
      const incidents = await store.listIncidents();
      expect(incidents.map((i) => [i.target, i.family, i.status, i.eventCount]).sort()).toEqual([
        ['a', 'heartbeat', 'failed', 2],
        ['a', 'resource', 'open', 1],
        ['b', 'heartbeat', 'open', 1],
      ]);
      const failed = incidents.find((i) => i.status === 'failed')!;
      expect(failed.errorLogs.map((l) => l.message)).toContain('step restart failed: no result within 10000 ms');
      expect((await store.getRun(runId))?.run.incidentId).toBe(failed.id);
      expect(await store.runbook()).toMatchObject([{ playbook: 'heartbeat-restart', runs: 1, failed: 1, resolved: 0 }]);
    });

    missed('a');
    await monitor.flush();
    await eventually(async () => {
      const a = (await store.listIncidents({ target: 'a' })).find((i) => i.family === 'heartbeat');
      expect(a).toMatchObject({ status: 'open', reopened: 1, eventCount: 3 });
    });
    expect(recorder.stats()).toMatchObject({ incidents: 3, runs: 1, steps: 1, dropped: 0, failed: 0, degraded: false });
  });

  it('continues a run after the recorder restarts mid-run, numbering new steps after those already stored', async () => {
    await using ctx = await setup();
    await using pg = await throwawaySchema('rec');
    const store = await openStore({ databaseUrl: pg.url, schema: pg.schema, storeDir: '/nonexistent', log: ctx.log });
    ctx.defer(() => store.close());
    const engine = await ctx.connect('engine');
    const handler = await ctx.connect('handler');
    const runId = newId();
    const run = { runId, playbook: 'heartbeat-restart', target: 'w' };

    const first = new Recorder({ bus: await ctx.connect('recorder', 'recorder-1'), store, log: ctx.log });
    await first.start();
    engine.publish(subjects.run(runId, 'started'), 'run.started', run, { target: 'w' });
    await actionCall(engine, handler, runId, 'process.restart', 'w', { pid: 1 });
    engine.publish(subjects.run(runId, 'step'), 'run.step', { ...run, step: 'restart', status: 'ok', durationMs: 10 }, { target: 'w' });
    await engine.flush();
    await eventually(async () => expect((await store.getRun(runId))?.steps.map((s) => s.step)).toEqual(['restart']));
    await first.stop();

    const second = new Recorder({ bus: await ctx.connect('recorder', 'recorder-2'), store, log: ctx.log });
    await second.start();
    ctx.defer(() => second.stop());
    const probe = await actionCall(engine, handler, runId, 'target.health', 'w', { healthy: true });
    engine.publish(subjects.run(runId, 'step'), 'run.step', { ...run, step: 'verify', status: 'ok', durationMs: 20 }, { target: 'w' });
    engine.publish(subjects.run(runId, 'resolved'), 'run.resolved', { ...run, durationMs: 40 }, { target: 'w' });
    await engine.flush();
    await eventually(async () => {
      const detail = await store.getRun(runId);
      expect(detail?.run).toMatchObject({ status: 'resolved', playbook: 'heartbeat-restart' });
      expect(detail?.steps.map((s) => [s.seq, s.step, s.action])).toEqual([
        [1, 'restart', 'process.restart'],
        [2, 'verify', 'target.health'],
      ]);
      expect(detail?.actions.find((a) => a.id === probe)?.stepSeq).toBe(2);
    });
  });

  it('dead-letters a malformed run phase and keeps recording', async () => {
    await using ctx = await setup();
    await using pg = await throwawaySchema('rec');
    const { store } = await startRecorder(ctx, pg.url, pg.schema);
    const engine = await ctx.connect('engine');
    const operator = await ctx.connect('operator');
    const runId = newId();
    const dead = new Promise<string>((resolve) => {
      const sub = operator.nc.subscribe('deadletter.runs', {
        callback: (_e, m) => {
          const d = (JSON.parse(m.string()) as { data: { droppedBy: string; reason: string } }).data;
          if (d.droppedBy === 'recorder') {
            sub.unsubscribe();
            resolve(d.reason);
          }
        },
      });
    });
    await operator.flush();
    engine.publish(subjects.run(runId, 'started'), 'run.started', { runId, playbook: 42 });
    engine.publish(subjects.run(runId, 'started'), 'run.started', { runId, playbook: 'ok-playbook', target: 't' });
    await engine.flush();
    expect(await dead).toMatch(/playbook/);
    await eventually(async () => expect((await store.getRun(runId))?.run.playbook).toBe('ok-playbook'));
  });
});
