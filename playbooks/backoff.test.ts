import { describe, expect, it, vi } from 'vitest';
import { subjects } from '../bus/index.js';
import { engineHarness, playbooks } from '../test/engine-harness.js';
import { setup } from '../test/setup.js';

const crashy = (extra = '') => `name: crashy
on:
  event: events.test.crashed
budget: { runs: 3, per: 1m }
backoff: { initial: 150ms, factor: 2, max: 1s, reset: 400ms }
${extra}steps:
  - id: fix
    action: test.fix
  - id: verify
    verify:
      probe: test.probe
      expect: result.up == true
      within: 100ms
      interval: 20ms
`;

describe('restart back-off', () => {
  it('runs the first fix at once, backs off the following ones, and escalates when the flap budget is spent', async () => {
    await using ctx = await setup();
    const h = await engineHarness(ctx, playbooks(crashy()));
    // the target never comes back, and crashes again during every run
    const fixedAt: number[] = [];
    h.answer((req) => {
      if (req.action === 'test.fix') {
        fixedAt.push(Date.now());
        h.monitor.publish('events.test.crashed', 'events.test.crashed', {}, { target: 'svc' });
      }
      return { status: 'ok', result: req.action === 'test.probe' ? { up: false } : {} };
    });
    await h.emit('events.test.crashed', 'svc');
    const exhausted = await h.until((s) => s.subject === subjects.event('playbook', 'budget_exhausted'), 15_000);
    expect(exhausted.env.data).toMatchObject({ playbook: 'crashy', target: 'svc', runs: 3 });
    const starts = h.seen.filter((s) => s.subject.endsWith('.started')).map((s) => (s.env.data.detail as { backoffMs?: number }).backoffMs ?? 0);
    expect(starts).toEqual([0, 150, 300]);
    expect(fixedAt).toHaveLength(3);
    // each fix after the first waited out its back-off from the end of the run before
    const ends = h.seen.filter((s) => /\.(failed|resolved|stopped)$/.test(s.subject)).map((s) => Date.parse(s.env.time));
    expect(ends).toHaveLength(3);
    expect(fixedAt[1]! - ends[0]!).toBeGreaterThanOrEqual(145);
    expect(fixedAt[2]! - ends[1]!).toBeGreaterThanOrEqual(295);
    // escalation: a critical notification, and no fourth run
    const notify = await vi.waitFor(() => h.requests.find((r) => r.action === 'notify.send') ?? Promise.reject(new Error('no notify.send yet')));
    expect(notify.params).toMatchObject({ severity: 'critical', target: 'svc' });
    await h.engine.whenIdle();
    expect(h.engine.stats.started).toBe(3);
    expect(h.requests.filter((r) => r.action === 'test.fix')).toHaveLength(3);
  });

  it('drops the attached event when the run resolves, and starts a fresh streak after `reset`', async () => {
    await using ctx = await setup();
    const h = await engineHarness(ctx, playbooks(crashy()));
    h.answer((req) => {
      if (req.action === 'test.fix' && h.requests.filter((r) => r.action === 'test.fix').length === 1) h.monitor.publish('events.test.crashed', 'events.test.crashed', {}, { target: 'svc' });
      return { status: 'ok', result: { up: true } };
    });
    await h.emit('events.test.crashed', 'svc');
    expect((await h.endFor('svc', 1)).phase).toBe('resolved');
    await h.engine.whenIdle();
    expect(h.engine.stats).toMatchObject({ started: 1, attached: 1 });
    // a second crash soon after: second in a row, backs off
    await h.emit('events.test.crashed', 'svc');
    const second = await h.until((s) => s.subject.endsWith('.started') && s.env.data.runId !== h.engine.runs[0]!.runId);
    expect(second.env.data.detail).toMatchObject({ backoffMs: 150 });
    await h.endFor('svc', 2);
    // healthy for longer than `reset`: the next crash is first in a row again
    await new Promise((r) => setTimeout(r, 450));
    await h.emit('events.test.crashed', 'svc');
    await h.endFor('svc', 3);
    const third = h.seen.filter((s) => s.subject.endsWith('.started'))[2]!;
    expect((third.env.data.detail as { backoffMs?: number }).backoffMs).toBeUndefined();
  });

  it('refuses a back-off with an unknown field or a factor below 1, naming the line', async () => {
    expect(() => playbooks(crashy().replace('factor: 2', 'factor: 0.5'))).toThrow(/test-0\.yaml:5:\d+: backoff\.factor/);
    expect(() => playbooks(crashy().replace('reset: 400ms', 'rest: 400ms'))).toThrow(/test-0\.yaml:5:\d+: backoff/);
  });
});
