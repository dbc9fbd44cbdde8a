import { describe, expect, it } from 'vitest';
import { BudgetExhaustedData, ControlReplyData, EnvelopeSchema, makeEnvelope, subjects } from '../bus/index.js';
import { engineHarness, playbooks } from '../test/engine-harness.js';
import { setup } from '../test/setup.js';

describe('playbook triggers through the real engine and bus', () => {
  it('matches NATS wildcards and a CEL when, and picks the highest priority when several match', async () => {
    await using ctx = await setup();
    const h = await engineHarness(
      ctx,
      playbooks(
        `name: low\npriority: 1\non:\n  event: events.disk.>\nsteps:\n  - id: a\n    action: test.fix\n    with: { by: low }\n`,
        `name: high\npriority: 5\non:\n  event: events.*.full\n  when: event.data.pct >= 90.0\nsteps:\n  - id: a\n    action: test.fix\n    with: { by: high }\n`,
        `name: other\non:\n  event: events.cpu.>\nsteps:\n  - id: a\n    action: test.fix\n    with: { by: other }\n`,
      ),
    );
    await h.emit('events.disk.full', 't1', { pct: 95 });
    await h.runEnd();
    await h.emit('events.disk.full', 't2', { pct: 50 });
    await h.endFor('t2');
    expect(h.requests.map((r) => `${r.target}:${(r.params as { by: string }).by}`)).toEqual(['t1:high', 't2:low']);
    expect(h.engine.runs.map((r) => r.playbook)).toEqual(['high', 'low']);
  });

  it('keeps one run per target: an event storm during a run is attached and counted, not started again', async () => {
    await using ctx = await setup();
    const h = await engineHarness(ctx, playbooks(`name: storm\non:\n  event: events.test.storm\nsteps:\n  - id: slow\n    action: test.fix\n`));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    h.answer(async () => {
      await gate;
      return { status: 'ok' };
    });
    await h.emit('events.test.storm', 'svc-1');
    await h.until((s) => s.subject.endsWith('.started'));
    for (let i = 0; i < 50; i++) h.monitor.publish('events.test.storm', 'storm', {}, { target: 'svc-1' });
    await h.emit('events.test.storm', 'svc-2');
    await h.until((s) => s.subject.endsWith('.started') && (s.env.data as { target?: string }).target === 'svc-2');
    release();
    const ends = [await h.runEnd(h.engine.runs[0]!.runId), await h.runEnd(h.engine.runs[1]!.runId)];
    expect(ends.map((e) => e.phase)).toEqual(['resolved', 'resolved']);
    expect(h.engine.runs).toHaveLength(2);
    expect(h.engine.runs[0]!.attached).toBe(50);
    expect(ends[0]!.data.detail).toMatchObject({ attached: 50 });
    expect(h.engine.stats).toMatchObject({ started: 2, attached: 50 });
  });

  it('drops events whose dedupe key was seen within the window, and honours a cooldown after a run', async () => {
    await using ctx = await setup();
    const h = await engineHarness(
      ctx,
      playbooks(
        `name: dd\non:\n  event: events.test.dd\n  dedupe: { key: "{{ event.data.fingerprint }}", window: 1h }\nsteps:\n  - id: a\n    action: test.fix\n`,
        `name: cool\non:\n  event: events.test.cool\n  cooldown: 1h\nsteps:\n  - id: a\n    action: test.fix\n`,
      ),
    );
    await h.emit('events.test.dd', 'x', { fingerprint: 'F1' });
    await h.runEnd();
    await h.emit('events.test.dd', 'y', { fingerprint: 'F1' });
    await h.emit('events.test.dd', 'z', { fingerprint: 'F2' });
    await h.endFor('z');
    expect(h.engine.runs.map((r) => r.target)).toEqual(['x', 'z']);
    expect(h.engine.stats.deduplicated).toBe(1);

    await h.emit('events.test.cool', 'c1');
    await h.endFor('c1');
    await h.emit('events.test.cool', 'c1');
    await h.emit('events.test.cool', 'c2');
    await h.endFor('c2');
    expect(h.engine.runs.filter((r) => r.playbook === 'cool').map((r) => r.target)).toEqual(['c1', 'c2']);
    expect(h.engine.stats.cooldown).toBe(1);
  });

  it('a flap budget refuses runs beyond N per window, publishes budget_exhausted and notifies once, until an operator resets it', async () => {
    await using ctx = await setup();
    const h = await engineHarness(ctx, playbooks(`name: flappy\non:\n  event: events.test.flap\nbudget: { runs: 2, per: 1h }\nsteps:\n  - id: a\n    action: test.fix\n`));
    for (let i = 1; i <= 2; i++) {
      await h.emit('events.test.flap', 'svc-1');
      await h.endFor('svc-1', i);
    }
    await h.emit('events.test.flap', 'svc-1');
    const exhausted = await h.until((s) => s.subject === 'events.playbook.budget_exhausted');
    const data = BudgetExhaustedData.parse(exhausted.env.data);
    expect(data).toMatchObject({ playbook: 'flappy', target: 'svc-1', runs: 2, perMs: 3_600_000 });
    await h.emit('events.test.flap', 'svc-1');
    await h.emit('events.test.flap', 'svc-2');
    await h.endFor('svc-2');
    expect(h.engine.runs.filter((r) => r.target === 'svc-1')).toHaveLength(2);
    expect(h.engine.stats.budgetRefused).toBe(2);
    expect(h.seen.filter((s) => s.subject === 'events.playbook.budget_exhausted')).toHaveLength(1);
    const notes = h.requests.filter((r) => r.action === 'notify.send');
    expect(notes).toHaveLength(1);
    expect(notes[0]!.params).toMatchObject({ severity: 'critical', target: 'svc-1' });
    expect(notes[0]!.params.message).toMatch(/reset-budget flappy svc-1/);

    // only the operator may reset: a monitor's message on approvals.budget.reset never arrives
    h.monitor.publish(subjects.budgetReset, 'budget.reset', { playbook: 'flappy', target: 'svc-1' });
    const reply = await h.operator.nc.request(subjects.budgetReset, JSON.stringify({ playbook: 'flappy', target: 'svc-1', by: 'alice' }), { timeout: 3000 });
    const body = ControlReplyData.parse(EnvelopeSchema.parse(JSON.parse(reply.string())).data);
    expect(body).toEqual({ accepted: true, message: 'flap budget of flappy on svc-1 reset (it was exhausted)' });
    expect((await h.until((s) => s.subject === 'events.playbook.budget_reset')).env.data).toMatchObject({ playbook: 'flappy', target: 'svc-1', by: 'alice', wasExhausted: true });
    expect(h.seen.filter((s) => s.subject === 'events.playbook.budget_reset')).toHaveLength(1);
    await h.emit('events.test.flap', 'svc-1');
    expect((await h.endFor('svc-1', 3)).phase).toBe('resolved');
    const unknown = await h.operator.nc.request(subjects.budgetReset, JSON.stringify(makeEnvelope('x', 'op', { playbook: 'nope', target: 'svc-1' })), { timeout: 3000 });
    const no = ControlReplyData.parse(EnvelopeSchema.parse(JSON.parse(unknown.string())).data);
    expect(no.accepted).toBe(false);
    expect(no.message).toMatch(/no playbook "nope"/);
  });

  it('runs again once the budget window has passed', async () => {
    await using ctx = await setup();
    const h = await engineHarness(ctx, playbooks(`name: short\non:\n  event: events.test.short\nbudget: { runs: 1, per: 300ms }\nsteps:\n  - id: a\n    action: test.fix\n`));
    await h.emit('events.test.short', 's');
    await h.runEnd();
    await h.emit('events.test.short', 's');
    const ex = await h.until((s) => s.subject === 'events.playbook.budget_exhausted');
    const until = Date.parse(BudgetExhaustedData.parse(ex.env.data).until);
    await new Promise((r) => setTimeout(r, Math.max(0, until - Date.now()) + 20));
    await h.emit('events.test.short', 's');
    await h.endFor('s', 2);
    expect(h.engine.stats).toMatchObject({ started: 2, budgetRefused: 1 });
  });
});
