import { describe, expect, it } from 'vitest';
import { ActionRequestData, makeEnvelope, newId, subjects } from '../bus/index.js';
import { PlaybookEngine, RunJournal, type RunRecord } from '../playbooks/index.js';
import { playbooks } from '../test/engine-harness.js';
import { throwawaySchema } from '../test/postgres.js';
import { setup } from '../test/setup.js';
import { openStore, Recorder } from './index.js';

const PLAYBOOK = `
name: resumable
on: { event: events.test.fault }
steps:
  - id: one
    action: test.fix
  - id: two
    action: test.fix
`;

describe('Recorder and a run resumed from the journal', () => {
  it('records a run whose first engine died before announcing it: the resumed run announces itself (runs.<id>.started, detail.resumed) and is recorded to its end', async () => {
    await using ctx = await setup();
    await using pg = await throwawaySchema('resumed');
    const store = await openStore({ databaseUrl: pg.url, schema: pg.schema, storeDir: '/nonexistent', log: ctx.log });
    ctx.defer(() => store.close());
    const recorder = new Recorder({ bus: await ctx.connect('recorder'), store, log: ctx.log, incidentWindowMs: 60_000 });
    await recorder.start();
    ctx.defer(() => recorder.stop());

    // what an engine wrote before it died: the run journaled, step `one` done, nothing published
    const monitor = await ctx.connect('monitor');
    const event = monitor.publish('events.test.fault', 'test.fault', {}, { target: 'w9' });
    await monitor.flush();
    const dead = await RunJournal.open(await ctx.connect('engine', 'engine-dead'), ctx.log);
    const run: RunRecord = { runId: newId(), playbook: 'resumable', target: 'w9', eventId: event.id, status: 'running', startedAt: Date.now(), steps: [], attached: 0 };
    await dead.begin(run, makeEnvelope('test.fault', 'monitor', {}, { subject: 'events.test.fault', target: 'w9' }));
    await dead.stepDone(run.runId, { id: 'one', stage: 'main', status: 'ok', result: {}, attempts: 1, durationMs: 2, action: 'test.fix', params: {} });

    const handler = await ctx.connect('handler');
    handler.subscribe(subjects.actionsDurable, ActionRequestData, (env) => {
      handler.publish(subjects.result(env.data.actionId), 'action.result', { actionId: env.data.actionId, action: env.data.action, status: 'ok', durationMs: 1, result: {} });
    });
    await handler.flush();
    const operator = await ctx.connect('operator');
    const announced: unknown[] = [];
    operator.nc.subscribe(`runs.${run.runId}.started`, { callback: (_e, m) => void announced.push((JSON.parse(m.string()) as { data: { detail?: unknown } }).data.detail) });
    await operator.flush();
    const bus = await ctx.connect('engine');
    const engine = new PlaybookEngine({ bus, playbooks: playbooks(PLAYBOOK), log: ctx.log, journal: await RunJournal.open(bus, ctx.log) });
    await engine.startDurable();
    ctx.defer(() => engine.stop());
    await engine.whenIdle();

    await expect
      .poll(async () => (await store.getRun(run.runId))?.run, { timeout: 10_000 })
      .toMatchObject({ status: 'resolved', playbook: 'resumable', target: 'w9' });
    expect(announced).toEqual([expect.objectContaining({ resumed: true, finishedSteps: 1 })]);
    const detail = await store.getRun(run.runId);
    // the step the resumed run executed is recorded; the one the dead engine finished was never published
    expect(detail?.steps.map((s) => [s.step, s.status])).toEqual([['two', 'ok']]);
  });
});
