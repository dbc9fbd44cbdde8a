import { describe, expect, it } from 'vitest';
import { RunPhaseData } from '../bus/index.js';
import { engineHarness, phasesOf, playbooks } from '../test/engine-harness.js';
import { setup } from '../test/setup.js';

const head = (name: string) => `name: ${name}\non:\n  event: events.test.${name}\n`;

describe('playbook steps through the real engine and bus', () => {
  it('runs actions with templated params, feeds step outputs to later steps, and publishes every phase', async () => {
    await using ctx = await setup();
    const h = await engineHarness(
      ctx,
      playbooks(`${head('outputs')}steps:
  - id: first
    action: test.fix
    with: { target: "{{ event.target }}", level: "{{ event.data.level }}", note: "level {{ event.data.level }} on {{ event.target }}" }
  - id: second
    action: test.other
    with: { pid: "{{ steps.first.result.pid }}", label: "pid={{ steps.first.result.pid }}" }
`),
    );
    h.answer((req) => (req.action === 'test.fix' ? { status: 'ok', result: { pid: 4242 } } : { status: 'ok' }));
    const ev = await h.emit('events.test.outputs', 'svc-1', { level: 7 });
    const end = await h.runEnd();
    expect(end.phase).toBe('resolved');
    expect(h.requests.map((r) => [r.action, r.params])).toEqual([
      ['test.fix', { target: 'svc-1', level: 7, note: 'level 7 on svc-1' }],
      ['test.other', { pid: 4242, label: 'pid=4242' }],
    ]);
    expect(h.requests[0]!.target).toBe('svc-1');
    expect(h.requests[0]!.runId).toBe(end.data.runId);
    expect(phasesOf(h, end.data.runId)).toEqual(['started', 'step:first:ok', 'step:second:ok', 'resolved']);
    for (const s of h.seen.filter((x) => x.subject.startsWith('runs.'))) {
      const d = RunPhaseData.parse(s.env.data);
      expect(d).toMatchObject({ runId: end.data.runId, playbook: 'outputs', target: 'svc-1', eventId: ev.id });
    }
  });

  it('fails the step naming the missing field and never renders an empty value into an action', async () => {
    await using ctx = await setup();
    const h = await engineHarness(ctx, playbooks(`${head('missing')}steps:\n  - id: act\n    action: test.fix\n    with: { pct: "{{ event.data.usedPct }}" }\n`));
    await h.emit('events.test.missing', 'svc-1', { other: 1 });
    const end = await h.runEnd();
    expect(end.phase).toBe('failed');
    expect(end.data.reason).toMatch(/event\.data\.usedPct/);
    expect(h.requests).toHaveLength(0);
  });

  it('skips a step whose when is false and runs the one whose when is true', async () => {
    await using ctx = await setup();
    const h = await engineHarness(
      ctx,
      playbooks(`${head('branch')}steps:
  - id: big
    when: event.data.size > 100.0
    action: test.fix
  - id: small
    when: event.data.size <= 100.0
    action: test.other
`),
    );
    await h.emit('events.test.branch', 'svc-1', { size: 5 });
    const end = await h.runEnd();
    expect(end.phase).toBe('resolved');
    expect(h.requests.map((r) => r.action)).toEqual(['test.other']);
    expect(phasesOf(h, end.data.runId)).toEqual(['started', 'step:big:skipped', 'step:small:ok', 'resolved']);
  });

  it('retries a failed action with backoff, and a timed-out one, up to the attempts given', async () => {
    await using ctx = await setup();
    const h = await engineHarness(
      ctx,
      playbooks(`${head('retry')}steps:
  - id: act
    action: test.fix
    timeout: 200ms
    retry: { attempts: 3, interval: 20ms, backoff: 2 }
`),
    );
    h.answer((_req, nth) => (nth === 1 ? 'silent' : nth === 2 ? { status: 'failed', error: 'busy' } : { status: 'ok', result: { done: true } }));
    await h.emit('events.test.retry', 'svc-1');
    const end = await h.runEnd();
    expect(end.phase).toBe('resolved');
    expect(h.requests).toHaveLength(3);
    const step = h.engine.runs[0]!.steps[0]!;
    expect(step).toMatchObject({ status: 'ok', attempts: 3, result: { done: true } });
  });

  it('gives up after the last attempt, and never retries a refused action', async () => {
    await using ctx = await setup();
    const h = await engineHarness(
      ctx,
      playbooks(`${head('giveup')}steps:\n  - id: act\n    action: test.fix\n    timeout: 150ms\n    retry: { attempts: 2, interval: 10ms }\n`),
    );
    h.answer(() => 'silent');
    await h.emit('events.test.giveup', 'a');
    const first = await h.runEnd();
    expect(first.phase).toBe('failed');
    expect(first.data.reason).toMatch(/no result from test\.fix within 150 ms/);
    expect(h.requests).toHaveLength(2);
    h.answer(() => ({ status: 'refused', error: 'not allowed' }));
    await h.emit('events.test.giveup', 'b');
    const refused = await h.endFor('b');
    expect(refused.data.reason).toMatch(/not allowed/);
    expect(h.requests.filter((r) => r.target === 'b')).toHaveLength(1);
  });

  it('verifies by polling the probe with backoff until the expectation holds', async () => {
    await using ctx = await setup();
    const h = await engineHarness(
      ctx,
      playbooks(`${head('verify')}steps:
  - id: fix
    action: test.fix
  - id: check
    verify:
      probe: test.probe
      with: { target: "{{ event.target }}" }
      expect: result.cpu < 60.0 && steps.fix.status == "ok"
      within: 5s
      interval: 20ms
      backoff: 1.5
`),
    );
    h.answer((req, nth) => (req.action === 'test.probe' ? { status: 'ok', result: { cpu: nth < 4 ? 95 : 30 } } : { status: 'ok' }));
    await h.emit('events.test.verify', 'svc-1');
    const end = await h.runEnd();
    expect(end.phase).toBe('resolved');
    const check = h.engine.runs[0]!.steps.find((s) => s.id === 'check')!;
    expect(check).toMatchObject({ status: 'ok', attempts: 4, result: { cpu: 30 } });
  });

  it('on a failed step: runs its on_failure steps, undoes completed steps newest first, then the playbook on_failure', async () => {
    await using ctx = await setup();
    const h = await engineHarness(
      ctx,
      playbooks(`${head('rollback')}steps:
  - id: one
    action: test.fix
    with: { n: 1 }
    undo: { action: test.undo, with: { n: 1, pid: "{{ steps.one.result.pid }}" } }
  - id: two
    action: test.fix
    with: { n: 2 }
    undo: { action: test.undo, with: { n: 2 } }
  - id: three
    action: test.other
    on_failure:
      - action: test.fix
        with: { n: "three-fallback" }
on_failure:
  - action: notify.send
    with: { message: "rollback on {{ event.target }}" }
`),
    );
    h.answer((req) => (req.action === 'test.other' ? { status: 'failed', error: 'boom' } : { status: 'ok', result: { pid: 10 } }));
    await h.emit('events.test.rollback', 'svc-1');
    const end = await h.runEnd();
    expect(end.phase).toBe('failed');
    expect(end.data.reason).toMatch(/step "three" failed: boom/);
    expect(h.requests.map((r) => `${r.action}:${JSON.stringify(r.params)}`)).toEqual([
      'test.fix:{"n":1}',
      'test.fix:{"n":2}',
      'test.other:{}',
      'test.fix:{"n":"three-fallback"}',
      'test.undo:{"n":2}',
      'test.undo:{"n":1,"pid":10}',
      'notify.send:{"message":"rollback on svc-1"}',
    ]);
    expect(phasesOf(h, end.data.runId)).toEqual([
      'started',
      'step:one:ok',
      'step:two:ok',
      'step:three:failed',
      'step:three.on_failure.1:ok',
      'step:two.undo:undone',
      'step:one.undo:undone',
      'step:on_failure.1:ok',
      'failed',
    ]);
  });

  it('a stop step ends the run as stopped with its reason and a notification, without acting', async () => {
    await using ctx = await setup();
    const h = await engineHarness(
      ctx,
      playbooks(`${head('stop')}steps:
  - id: corrupt
    when: event.data.cause == "corruption"
    stop: "data corruption on {{ event.target }}: manual intervention needed"
  - id: restart
    action: test.fix
`),
    );
    await h.emit('events.test.stop', 'db-1', { cause: 'corruption' });
    const end = await h.runEnd();
    expect(end.phase).toBe('stopped');
    expect(end.data.reason).toBe('data corruption on db-1: manual intervention needed');
    expect(h.requests.map((r) => r.action)).toEqual(['notify.send']);
    expect(h.requests[0]!.params).toMatchObject({ severity: 'warning', target: 'db-1' });
    expect(h.requests[0]!.params.message).toMatch(/stopped on db-1: data corruption/);
    expect(h.engine.runs[0]!.status).toBe('stopped');
  });

  it('a stop in on_failure turns a failed run into a stopped one', async () => {
    await using ctx = await setup();
    const h = await engineHarness(
      ctx,
      playbooks(`${head('giveup2')}steps:
  - id: clean
    action: test.fix
    on_failure:
      - stop: non-log data is filling the disk
`),
    );
    h.answer((req) => (req.action === 'test.fix' ? { status: 'failed', error: 'still 95%' } : { status: 'ok' }));
    await h.emit('events.test.giveup2', 'web-1');
    const end = await h.runEnd();
    expect(end.phase).toBe('stopped');
    expect(end.data.reason).toBe('non-log data is filling the disk');
    expect(h.requests.map((r) => r.action)).toEqual(['test.fix', 'notify.send']);
  });
});
