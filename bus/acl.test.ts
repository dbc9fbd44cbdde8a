import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigFileError } from '../config/index.js';
import { loadAclPolicy } from './index.js';
import { nextMessage, setup } from '../test/setup.js';

describe('ACL from one policy, enforced by the real nats-server', () => {
  async function denied(ctx: Awaited<ReturnType<typeof setup>>, role: string, subject: string): Promise<boolean> {
    const watcher = await ctx.connect('operator', `watch-${role}`);
    const c = await ctx.connect(role, `${role}-probe`);
    const report = nextMessage(watcher, 'acl.violation', (e) => (e.data as { subject: string }).subject === subject, 3000).then(() => true, () => false);
    let delivered = 0;
    const sub = watcher.nc.subscribe(subject, { callback: () => void delivered++ });
    await watcher.flush();
    c.nc.publish(subject, '{}');
    // the self-reported violation arrives only after the server refused the publish
    const reported = await report;
    await watcher.flush();
    sub.unsubscribe();
    return delivered === 0 && reported;
  }

  it('a handler cannot publish chaos.>', async () => {
    await using ctx = await setup();
    expect(await denied(ctx, 'handler', 'chaos.heartbeat_pause')).toBe(true);
  });

  it('the chaos agent cannot publish actions.>', async () => {
    await using ctx = await setup();
    expect(await denied(ctx, 'chaos', 'actions.process.restart')).toBe(true);
  });

  it('the recorder only listens: it cannot publish actions.>, runs.> or approvals.>', async () => {
    await using ctx = await setup();
    for (const subject of ['actions.process.restart', 'runs.r1.resolved', 'approvals.r1']) {
      expect(await denied(ctx, 'recorder', subject), subject).toBe(true);
    }
  });

  it('the dashboard only reads: it cannot publish approvals.>, actions.>, chaos.>, events.> or runs.>', async () => {
    await using ctx = await setup();
    for (const subject of ['approvals.r1', 'approvals.budget.reset', 'actions.process.restart', 'chaos.heartbeat_pause', 'events.target.unhealthy', 'runs.r1.resolved']) {
      expect(await denied(ctx, 'dashboard', subject), subject).toBe(true);
    }
  });

  it('only operator may publish approvals.>', async () => {
    await using ctx = await setup();
    for (const role of ['engine', 'handler', 'monitor', 'chaos', 'target', 'dashboard']) {
      expect(await denied(ctx, role, 'approvals.run1'), role).toBe(true);
    }
    const watcher = await ctx.connect('operator', 'watch');
    const op = await ctx.connect('operator');
    const got = nextMessage(watcher, 'approvals.run1');
    await watcher.flush();
    op.publish('approvals.run1', 'approval', { decision: 'approve' });
    await expect(got).resolves.toBeDefined();
  });

  it('refuses a policy with an unknown role, an actor named like a role, or a bad subject pattern', async () => {
    await using ctx = await setup();
    const file = join(ctx.dir, 'bad-acl.yaml');
    const base = `roles:\n  monitor: {}\n  engine: {}\n  handler: {}\n  chaos: {}\n  operator: {}\n  target: {}\n  recorder: {}\n  intake: {}\n  dashboard: {}\n`;
    writeFileSync(file, base + '  wizard: {}\n');
    expect(() => loadAclPolicy(file)).toThrow(/wizard: unknown field/);
    writeFileSync(file, base + 'actors:\n  engine: {}\n');
    expect(() => loadAclPolicy(file)).toThrow(/overlaps the role "engine"/);
    writeFileSync(file, base.replace('chaos: {}', 'chaos: { publish: { allow: ["chaos.>.x"] } }'));
    expect(() => loadAclPolicy(file)).toThrow(ConfigFileError);
    expect(() => loadAclPolicy(file)).toThrow(/roles\.chaos\.publish\.allow\.0: not a valid NATS subject pattern/);
  });
});
