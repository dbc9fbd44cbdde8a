import { describe, expect, it } from 'vitest';
import { engineHarness, playbooks } from '../test/engine-harness.js';
import { fakeSlack } from '../test/fake-slack.js';
import { setup, type TestContext } from '../test/setup.js';
import { LifecycleNotifier } from './lifecycle-notifier.js';
import { NotifyConfig } from './notify-config.js';
import { NotifyRouter } from './notify-router.js';

const FIX = `name: fix-it
on:
  event: events.redis.memory_pressure
steps:
  - id: look
    verify: { probe: redis.memory, with: { target: "{{ event.target }}" }, expect: "true", within: 2s }
  - id: purge
    action: redis.purge
    with: { target: "{{ event.target }}", pattern: "cache:*" }
  - id: check
    verify: { probe: redis.memory, with: { target: "{{ event.target }}" }, expect: "true", within: 2s }
`;
const pressure = { target: 'cache', check: 'redis', kind: 'redis', reason: 'health 3 % is under 30 %', latencyMs: 1, failures: 1, metrics: { usedMemory: 50_000_000, maxMemory: 52428800, healthPct: 3, policy: 'noeviction', oomErrors: 0, oomErrorsDelta: 0, recentErrors: [] } };

type SlackBody = { text: string; blocks: { fields?: { text: string }[] }[] };

async function notifierWith(ctx: TestContext, config: unknown) {
  const slack = await fakeSlack(['ok']);
  ctx.defer(() => slack.close());
  const parsed = NotifyConfig.parse(config);
  const withUrl = { ...parsed, sinks: parsed.sinks.map((s) => (s.kind === 'slack' ? { ...s, url: slack.url } : s)) };
  const router = new NotifyRouter(withUrl, ctx.log);
  ctx.defer(() => router.close());
  const notifier = new LifecycleNotifier(await ctx.connect('handler', 'notifier'), router, parsed.lifecycle, ctx.log);
  notifier.start();
  return { slack, router, notifier, texts: () => slack.received.map((r) => (r.body as SlackBody).text) };
}

describe('lifecycle notifications', () => {
  it('sends received, diagnosing, executing and resolved (with MTTR) once each, in order, to a Slack sink', async () => {
    await using ctx = await setup();
    const n = await notifierWith(ctx, { sinks: [{ kind: 'slack', name: 'ops', url: 'http://127.0.0.1:1/x' }] });
    const h = await engineHarness(ctx, playbooks(FIX));
    h.answer((req) => ({ status: 'ok', result: req.action === 'redis.memory' ? { healthy: true, healthPct: 99 } : { deleted: 3 } }));
    const end = h.endFor('cache');
    await h.emit('events.redis.memory_pressure', 'cache', pressure);
    expect((await end).phase).toBe('resolved');
    await n.router.idle();
    for (let t = Date.now() + 5000; n.slack.received.length < 4 && Date.now() < t; ) await new Promise((r) => setTimeout(r, 20));
    await n.router.idle();
    const texts = n.texts();
    expect(texts).toEqual([
      'INFO: events.redis.memory_pressure on cache: fix-it takes it',
      'INFO: diagnosing cache: redis.memory ok',
      expect.stringMatching(/^INFO: executing on cache: redis\.purge ok in \d+ ms$/),
      expect.stringMatching(/^INFO: cache healed by fix-it \(MTTR \d+ ms\)$/),
    ]);
    const fields = (n.slack.received[3]!.body as SlackBody).blocks.flatMap((b) => b.fields ?? []).map((f) => f.text);
    expect(fields).toEqual(expect.arrayContaining(['*Target:* cache', '*stage:* resolved', '*playbook:* fix-it', '*steps:* look ok, purge ok, check ok']));
    expect(n.notifier.stats).toEqual({ received: 1, diagnosing: 1, executing: 1, resolved: 1, failed: 0 });
  });

  it('leaves out stages that are off, sends failed as critical, and routes by family', async () => {
    await using ctx = await setup();
    const n = await notifierWith(ctx, {
      sinks: [
        { kind: 'slack', name: 'redis-team', url: 'http://127.0.0.1:1/x', families: ['redis'] },
        { kind: 'slack', name: 'heartbeat-team', url: 'http://127.0.0.1:1/x', families: ['heartbeat'] },
      ],
      lifecycle: { received: 'off', diagnosing: 'off', executing: 'off' },
    });
    const h = await engineHarness(ctx, playbooks(FIX));
    h.answer((req) => (req.action === 'redis.purge' ? { status: 'failed', error: 'connection refused' } : { status: 'ok', result: { healthy: false } }));
    const end = h.endFor('cache');
    await h.emit('events.redis.memory_pressure', 'cache', pressure);
    expect((await end).phase).toBe('failed');
    for (let t = Date.now() + 5000; n.slack.received.length < 1 && Date.now() < t; ) await new Promise((r) => setTimeout(r, 20));
    await n.router.idle();
    // one sink of the two (the same fake server): the heartbeat team's sink got nothing about redis
    expect(n.texts()).toEqual([expect.stringMatching(/^CRITICAL: fix-it failed on cache: .*connection refused/)]);
    expect(n.router.stats()).toMatchObject({ 'redis-team': { sent: 1 }, 'heartbeat-team': { sent: 0 } });
  });
});
