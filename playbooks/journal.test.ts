import { describe, expect, it } from 'vitest';
import { ActionRequestData, makeEnvelope, newId, subjects } from '../bus/index.js';
import { playbooks } from '../test/engine-harness.js';
import { setup } from '../test/setup.js';
import { idempotencyKey, PlaybookEngine, RunJournal, type RunRecord } from './index.js';

const PLAYBOOK = `
name: resumable
on: { event: events.test.fault }
steps:
  - id: one
    action: test.fix
    with: { n: 1 }
  - id: two
    action: test.other
    with: { prev: "{{ steps.one.result.v }}" }
    retry: { attempts: 3 }
  - id: three
    action: test.fix
    with: { n: 3 }
`;

describe('run journal', () => {
  it('a new engine resumes an unfinished run: finished steps are replayed, the in-flight attempt is re-sent with its key', async () => {
    await using ctx = await setup();
    const pbs = playbooks(PLAYBOOK);
    // what an engine that died wrote: step `one` done, attempt 2 of step `two` sent and unanswered
    const dead = await ctx.connect('engine', 'engine-dead');
    const old = await RunJournal.open(dead, ctx.log);
    const event = makeEnvelope('test.fault', 'monitor', { why: 'x' }, { subject: 'events.test.fault', target: 'w1' });
    const run: RunRecord = { runId: newId(), playbook: 'resumable', target: 'w1', eventId: event.id, status: 'running', startedAt: Date.now(), steps: [], attached: 0 };
    await old.begin(run, event);
    await old.stepDone(run.runId, { id: 'one', stage: 'main', status: 'ok', result: { v: 'A' }, attempts: 1, durationMs: 3, action: 'test.fix', params: { n: 1 } });
    const key = idempotencyKey(run.runId, 'main', 'two', 2);
    await old.attempt(run.runId, { stage: 'main', step: 'two', attempt: 2, key });

    const handler = await ctx.connect('handler');
    const requests: ActionRequestData[] = [];
    handler.subscribe('actions.>', ActionRequestData, (env) => {
      requests.push(env.data);
      handler.publish(subjects.result(env.data.actionId), 'action.result', { actionId: env.data.actionId, action: env.data.action, status: 'ok', durationMs: 1, result: {} });
    });
    const operator = await ctx.connect('operator');
    const phases: string[] = [];
    const details: unknown[] = [];
    operator.nc.subscribe(`runs.${run.runId}.*`, {
      callback: (_e, m) => {
        phases.push(m.subject.split('.')[2]!);
        details.push((JSON.parse(m.string()) as { data: { detail?: unknown } }).data.detail);
      },
    });
    await Promise.all([handler.flush(), operator.flush()]);

    const bus = await ctx.connect('engine');
    const journal = await RunJournal.open(bus, ctx.log);
    const engine = new PlaybookEngine({ bus, playbooks: pbs, log: ctx.log, journal });
    await engine.startDurable();
    ctx.defer(() => engine.stop());
    expect(engine.activeRun('w1')?.runId).toBe(run.runId);
    await engine.whenIdle();
    await operator.flush();

    expect(requests.map((r) => [r.action, r.idempotencyKey, r.params])).toEqual([
      ['test.other', key, { prev: 'A' }],
      ['test.fix', idempotencyKey(run.runId, 'main', 'three', 1), { n: 3 }],
    ]);
    // the dead engine never published `started`: the resumed run announces itself
    expect(phases).toEqual(['started', 'step', 'step', 'resolved']);
    expect(details[0]).toMatchObject({ resumed: true, finishedSteps: 1 });
    expect(engine.runs.find((r) => r.runId === run.runId)?.steps.map((s) => [s.id, s.status, s.attempts])).toEqual([
      ['one', 'ok', 1],
      ['two', 'ok', 2],
      ['three', 'ok', 1],
    ]);
    expect(await journal.entries()).toEqual([]);
  });

  it('journals a run before its first action and removes it when the run ends', async () => {
    await using ctx = await setup();
    const bus = await ctx.connect('engine');
    const journal = await RunJournal.open(bus, ctx.log);
    const seenAtAction: number[] = [];
    const handler = await ctx.connect('handler');
    handler.subscribe('actions.>', ActionRequestData, async (env) => {
      seenAtAction.push((await journal.entries()).length);
      handler.publish(subjects.result(env.data.actionId), 'action.result', { actionId: env.data.actionId, action: env.data.action, status: 'ok', durationMs: 1, result: { v: 'B' } });
    });
    await handler.flush();
    const engine = new PlaybookEngine({ bus, playbooks: playbooks(PLAYBOOK), log: ctx.log, journal });
    await engine.startDurable();
    ctx.defer(() => engine.stop());
    const monitor = await ctx.connect('monitor');
    monitor.useDurableEvents();
    monitor.publish('events.test.fault', 'test.fault', {}, { target: 'w2' });
    await expect.poll(() => engine.runs.length, { timeout: 5000 }).toBe(1);
    await engine.whenIdle();
    expect(engine.runs[0]!.status).toBe('resolved');
    expect(seenAtAction).toEqual([1, 1, 1]);
    expect(await journal.entries()).toEqual([]);
  });
});
