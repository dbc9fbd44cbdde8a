import { describe, expect, it } from 'vitest';
import { engineHarness, playbooks } from '../test/engine-harness.js';
import { setup } from '../test/setup.js';

const pb = (name: string, action: string) => `name: ${name}
priority: 5
on:
  event: events.test.broken
steps:
  - id: fix
    action: ${action}
    with: { target: "{{ event.target }}" }
`;

describe('runbook: among playbooks of equal priority the engine prefers the fix that worked last time', () => {
  it('tries the first, then the untried one after a failure, then keeps the one that resolved', async () => {
    await using ctx = await setup();
    const h = await engineHarness(ctx, playbooks(pb('fix-a', 'test.fix'), pb('fix-b', 'test.other')));
    h.answer((req) => (req.action === 'test.fix' ? { status: 'failed', error: 'did not help' } : { status: 'ok' }));
    const chosen: string[] = [];
    for (let i = 1; i <= 3; i++) {
      const end = h.endFor('t1', i);
      await h.emit('events.test.broken', 't1');
      const e = await end;
      await h.engine.whenIdle();
      chosen.push(`${e.data.playbook}:${e.phase}`);
    }
    expect(chosen).toEqual(['fix-a:failed', 'fix-b:resolved', 'fix-b:resolved']);
    expect(h.engine.runbook.outcome('events.test.broken', 'fix-b')).toMatchObject({ runs: 2, resolved: 2, lastStatus: 'resolved' });
  });

  it('never lets the runbook override a higher priority', async () => {
    await using ctx = await setup();
    const h = await engineHarness(ctx, playbooks(pb('fix-b', 'test.other'), pb('urgent', 'test.fix').replace('priority: 5', 'priority: 9')));
    h.engine.runbook.load([
      { signature: 'events.test.broken', playbook: 'fix-b', runs: 4, resolved: 4, lastStatus: 'resolved' },
      { signature: 'events.test.broken', playbook: 'urgent', runs: 4, resolved: 0, lastStatus: 'failed' },
    ]);
    const end = h.endFor('t3');
    await h.emit('events.test.broken', 't3');
    expect((await end).data.playbook).toBe('urgent');
  });

  it('uses the runbook loaded from the store at start', async () => {
    await using ctx = await setup();
    const h = await engineHarness(ctx, playbooks(pb('fix-a', 'test.fix'), pb('fix-b', 'test.other')));
    h.engine.runbook.load([
      { signature: 'events.test.broken', playbook: 'fix-b', runs: 4, resolved: 4, lastStatus: 'resolved' },
      { signature: 'events.test.broken', playbook: 'fix-a', runs: 4, resolved: 1, lastStatus: 'failed' },
    ]);
    const end = h.endFor('t2');
    await h.emit('events.test.broken', 't2');
    expect((await end).data.playbook).toBe('fix-b');
    expect(h.requests.map((r) => r.action)).toEqual(['test.other']);
  });
});
