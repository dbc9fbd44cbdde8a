import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AclEventData } from '../bus/index.js';
import { loadPlaybookDir } from './index.js';
import { engineHarness, TEST_ACTIONS } from '../test/engine-harness.js';
import { setup } from '../test/setup.js';

describe('library playbook message-bus-acl-violation', () => {
  it('notifies when the blacklist is refused (e.g. the flooding actor is a Homeostat role), and the run fails', async () => {
    await using ctx = await setup();
    const lib = loadPlaybookDir(join(import.meta.dirname, 'library'), { actions: TEST_ACTIONS });
    const h = await engineHarness(ctx, lib.filter((p) => p.playbook.name === 'message-bus-acl-violation'));
    h.answer((req) =>
      req.action === 'bus.blacklist'
        ? { status: 'refused', error: 'refused to blacklist "engine": Homeostat roles are never blacklisted' }
        : { status: 'ok', result: { count: 12, subjects: ['actions.process.restart'] } },
    );
    const end = h.endFor('engine');
    const at = new Date().toISOString();
    const spam: AclEventData = { rule: 'spam', actor: 'engine', kind: 'role', count: 12, threshold: 10, windowMs: 1000, total: 12, subjects: ['actions.process.restart'], firstAt: at, lastAt: at };
    await h.emit('events.acl.spam', 'engine', spam);
    expect((await end).phase).toBe('failed');
    const notify = h.requests.filter((r) => r.action === 'notify.send');
    expect(notify).toHaveLength(1);
    expect(notify[0]!.params).toMatchObject({ severity: 'critical', message: expect.stringContaining('ACL defence for engine did not complete') });
    expect(h.requests.map((r) => r.action)).toEqual(['acl.assess', 'bus.blacklist', 'notify.send']);
  });
});

describe('library playbook redis-oom', () => {
  const lib = () => loadPlaybookDir(join(import.meta.dirname, 'library'), { actions: TEST_ACTIONS }).filter((p) => p.playbook.name === 'redis-oom');
  const pressure = { target: 'cache', check: 'redis', kind: 'redis', reason: 'health 3 % is under 30 %', latencyMs: 1, failures: 1, metrics: { usedMemory: 51_000_000, maxMemory: 52428800, healthPct: 3, policy: 'noeviction', oomErrors: 1, oomErrorsDelta: 1, recentErrors: [] } };
  /** Health after each remedy, as the handlers would measure it; the probe answers with the last one. */
  const remediator = (after: Record<string, number>) => {
    let health = 3;
    return (req: { action: string }) => {
      if (req.action === 'redis.memory') return { status: 'ok' as const, result: { healthy: health > 30, healthPct: health } };
      const key = req.action.split('.')[1]!;
      if (after[key] !== undefined) health = after[key];
      return { status: 'ok' as const, result: { healthBefore: 3, healthAfter: health } };
    };
  };

  it('purges and verifies, asking nobody, when the purge frees the memory', async () => {
    await using ctx = await setup();
    const h = await engineHarness(ctx, lib());
    h.answer(remediator({ purge: 97 }));
    const end = h.endFor('cache');
    await h.emit('events.redis.memory_pressure', 'cache', pressure);
    expect((await end).phase).toBe('resolved');
    expect(h.requests.map((r) => r.action)).toEqual(['redis.purge', 'redis.memory']);
    expect(h.seen.some((s) => s.subject.endsWith('.awaiting_approval'))).toBe(false);
  });

  it('asks an operator before FLUSHALL when the purge left health at 80 % or less, and skips the restart once the flush freed it', async () => {
    await using ctx = await setup();
    const h = await engineHarness(ctx, lib());
    h.answer(remediator({ purge: 40, flushall: 99 }));
    const end = h.endFor('cache');
    await h.emit('events.redis.memory_pressure', 'cache', pressure);
    const gate = await h.until((x) => x.subject.endsWith('.awaiting_approval'));
    expect(gate.env.data).toMatchObject({ step: 'flush', detail: { action: 'redis.flushall', risk: 'high' } });
    expect(h.requests.map((r) => r.action)).toEqual(['redis.purge']);
    h.operator.nc.publish(`approvals.${gate.subject.split('.')[1]}`, JSON.stringify({ decision: 'approve', by: 'test' }));
    expect((await end).phase).toBe('resolved');
    expect(h.requests.map((r) => r.action)).toEqual(['redis.purge', 'redis.flushall', 'redis.memory']);
  });

  it('falls back to a restart when health stays at 80 % or less after the approved flush', async () => {
    await using ctx = await setup();
    const h = await engineHarness(ctx, lib());
    h.answer(remediator({ purge: 40, flushall: 60, restart: 100 }));
    const end = h.endFor('cache');
    await h.emit('events.redis.memory_pressure', 'cache', pressure);
    const gate = await h.until((x) => x.subject.endsWith('.awaiting_approval'));
    h.operator.nc.publish(`approvals.${gate.subject.split('.')[1]}`, JSON.stringify({ decision: 'approve', by: 'test' }));
    expect((await end).phase).toBe('resolved');
    expect(h.requests.map((r) => r.action)).toEqual(['redis.purge', 'redis.flushall', 'process.restart', 'redis.memory']);
  });

  it('stops and notifies when the operator rejects the flush', async () => {
    await using ctx = await setup();
    const h = await engineHarness(ctx, lib());
    h.answer(remediator({ purge: 40 }));
    const end = h.endFor('cache');
    await h.emit('events.redis.memory_pressure', 'cache', pressure);
    const gate = await h.until((x) => x.subject.endsWith('.awaiting_approval'));
    h.operator.nc.publish(`approvals.${gate.subject.split('.')[1]}`, JSON.stringify({ decision: 'reject', by: 'test', reason: 'keep the sessions' }));
    const e = await end;
    expect(e.phase).toBe('stopped');
    expect(e.data.reason).toMatch(/keep the sessions/);
    expect(h.requests.map((r) => r.action)).toEqual(['redis.purge', 'notify.send']);
  });
});
