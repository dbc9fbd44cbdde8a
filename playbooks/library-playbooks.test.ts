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
