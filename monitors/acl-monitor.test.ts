import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { AclEventData, ROLES, subjects, type Envelope } from '../bus/index.js';
import { ConfigFileError } from '../config/index.js';
import { nextMessage, setup, type TestContext } from '../test/setup.js';
import { AclLogSource, AclMonitor, loadAclMonitorConfig } from './index.js';

/** A monitor on a real bus with a clock the test drives, and every events.acl.* it publishes. */
async function monitorWith(ctx: TestContext, overrides: Record<string, unknown> = {}) {
  const bus = await ctx.connect('monitor', 'acl-monitor');
  const watcher = await ctx.connect('operator', 'watcher');
  const events: Envelope<AclEventData>[] = [];
  watcher.subscribe('events.acl.*', AclEventData, (e) => void events.push(e));
  await watcher.flush();
  let now = 1_000_000;
  const config = { ...loadAclMonitorConfig(ctx.settings.aclMonitorFile), ...overrides };
  const monitor = new AclMonitor(bus, {
    config,
    known: { roles: ROLES, actors: ['rogue'] },
    subscribe: [],
    log: ctx.log,
    now: () => now,
  });
  monitor.start();
  ctx.defer(() => monitor.stop());
  const at = (ms: number) => (now = 1_000_000 + ms);
  const hit = (actor: string, subject = 'public.x', source: 'nats-log' | 'self-report' = 'nats-log') =>
    monitor.record({ actor, subject, source, time: new Date().toISOString() });
  /** Everything the monitor published so far has reached the watcher (NATS keeps one publisher's order). */
  const settled = async () => {
    const mark = nextMessage(watcher, 'events.acl-test.mark');
    await watcher.flush();
    bus.publish('events.acl-test.mark', 'mark', {});
    await mark;
  };
  return { monitor, events, at, hit, settled };
}

const rules = (events: Envelope<AclEventData>[]) => events.map((e) => `${e.data.rule}:${e.data.actor}`);

describe('ACL monitor', () => {
  it('spam: 10 violations within 1 s from one actor give one events.acl.spam per episode', async () => {
    await using ctx = await setup();
    const m = await monitorWith(ctx);
    for (let i = 0; i < 9; i++) {
      m.at(i * 100);
      m.hit('rogue');
    }
    await m.settled();
    expect(m.events).toEqual([]);
    m.at(950);
    m.hit('rogue');
    for (let i = 0; i < 500; i++) m.hit('rogue');
    await m.settled();
    // 510 violations: one spam event and (past 20) one actor-threshold event, not one per violation
    expect(rules(m.events)).toEqual(['spam:rogue', 'actor_threshold:rogue']);
    const spam = m.events[0]!;
    expect(spam.target).toBe('rogue');
    expect(spam.subject).toBe(subjects.event('acl', 'spam'));
    expect(spam.data).toMatchObject({ actor: 'rogue', kind: 'actor', count: 10, threshold: 10, windowMs: 1000, subjects: ['public.x'] });
  });

  it('spreads below the spam rate do not spam, but reach the actor threshold of 20', async () => {
    await using ctx = await setup();
    const m = await monitorWith(ctx);
    for (let i = 0; i < 25; i++) {
      m.at(i * 200); // 5 per second
      m.hit('rogue');
    }
    await m.settled();
    expect(rules(m.events)).toEqual(['actor_threshold:rogue']);
    expect(m.events[0]!.data).toMatchObject({ count: 20, threshold: 20, total: 20 });
  });

  it('control-subject flood: 5 violations on actions.>, approvals.>, chaos.> or runs.>', async () => {
    await using ctx = await setup();
    const m = await monitorWith(ctx);
    const subjectsHit = ['actions.process.restart', 'approvals.r1', 'chaos.cpu', 'runs.r1.started', 'public.not-control'];
    subjectsHit.forEach((s, i) => {
      m.at(i * 1000);
      m.hit('rogue', s);
    });
    await m.settled();
    expect(m.events).toEqual([]);
    m.at(5000);
    m.hit('rogue', 'actions.process.kill');
    await m.settled();
    expect(rules(m.events)).toEqual(['control_flood:rogue']);
  });

  it('a new episode begins only after the rule stopped holding for the episode gap', async () => {
    await using ctx = await setup();
    const m = await monitorWith(ctx, { actorThreshold: { count: 1000, window: 60_000 }, episodeGap: 100 });
    const burst = (from: number) => {
      for (let i = 0; i < 10; i++) {
        m.at(from + i * 10);
        m.hit('rogue');
      }
    };
    burst(0); // holds until 1000 ms
    burst(600); // still holding: the same episode, now held until 1600 ms
    m.at(1650);
    m.monitor.sweep(); // 50 ms without the rule holding: less than the gap
    expect(m.monitor.openEpisodes()).toEqual({ rogue: ['spam'] });
    await m.settled();
    expect(rules(m.events)).toEqual(['spam:rogue']);
    burst(1650); // holds again only at 1740 ms, 140 ms after it stopped: a new episode
    await m.settled();
    expect(rules(m.events)).toEqual(['spam:rogue', 'spam:rogue']);
    m.at(5000);
    m.monitor.sweep();
    expect(m.monitor.openEpisodes()).toEqual({});
  });

  it('counts and reports an actor the policy does not know, and keeps actors bounded', async () => {
    await using ctx = await setup();
    const m = await monitorWith(ctx, { maxActors: 50 });
    for (let i = 0; i < 10; i++) m.hit('mallory');
    for (let i = 0; i < 10; i++) m.hit('engine');
    for (let a = 0; a < 1000; a++) m.hit(`stranger-${a}`);
    await m.settled();
    expect(m.events.map((e) => [e.data.actor, e.data.kind, e.data.rule])).toEqual([
      ['mallory', 'unknown', 'spam'],
      ['engine', 'role', 'spam'],
    ]);
    expect(m.monitor.stats.counted).toBe(1020);
    expect(m.monitor.stats.actors).toBeLessThanOrEqual(50);
    expect(m.monitor.stats.unknownActors).toBe(1001);
  });

  it('end to end: a real client flooding denied publishes is read from the server log and reported as spam', async () => {
    await using ctx = await setup();
    const bus = await ctx.connect('monitor', 'acl-monitor');
    const watcher = await ctx.connect('operator', 'watcher');
    const monitor = new AclMonitor(bus, { config: loadAclMonitorConfig(), known: { roles: ROLES, actors: ['rogue'] }, subscribe: [], log: ctx.log });
    monitor.start();
    const src = new AclLogSource(bus, ctx.nats.logFile, (v) => monitor.record(v), { log: ctx.log });
    src.start();
    ctx.defer(() => src.stop());
    ctx.defer(() => monitor.stop());
    const spam = nextMessage(watcher, 'events.acl.spam', () => true, 10_000, AclEventData);
    await watcher.flush();
    const creds = ctx.nats.credentials('rogue');
    const nc = await connect({ servers: creds.url, user: creds.user, pass: creds.password });
    ctx.defer(() => nc.close());
    for (let i = 0; i < 12; i++) nc.publish('actions.process.restart', 'x');
    await nc.flush();
    const env = await spam;
    expect(env.data).toMatchObject({ actor: 'rogue', kind: 'actor', rule: 'spam', subjects: ['actions.process.restart'] });
    expect(monitor.stats.bySource['nats-log']).toBeGreaterThanOrEqual(10);
  });

  it('counts self-reports only when told to', async () => {
    await using ctx = await setup();
    const bus = await ctx.connect('monitor', 'acl-monitor');
    const monitor = new AclMonitor(bus, { config: loadAclMonitorConfig(), known: { roles: ROLES, actors: [] }, subscribe: ['self-report'], log: ctx.log });
    monitor.start();
    ctx.defer(() => monitor.stop());
    await bus.flush();
    const handler = await ctx.connect('handler');
    handler.nc.publish('chaos.cpu_spike', '{}');
    await waitFor(() => monitor.stats.bySource['self-report'] === 1);
    expect(monitor.stats.counted).toBe(1);
  });

  it('refuses a thresholds file with a bad field, naming it', async () => {
    await using ctx = await setup();
    const file = join(ctx.dir, 'acl-monitor.yaml');
    writeFileSync(file, 'spam: { count: 0, window: 1s }\ncontrolFlood: { count: 5, window: 10s, subjects: ["actions.>.x"] }\n');
    expect(() => loadAclMonitorConfig(file)).toThrow(ConfigFileError);
    expect(() => loadAclMonitorConfig(file)).toThrow(/spam\.count/);
    expect(() => loadAclMonitorConfig(file)).toThrow(/controlFlood\.subjects\.0: not a valid NATS subject pattern/);
  });
});

async function waitFor(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
