import { describe, expect, it } from 'vitest';
import { DataServiceUnreachableData, eventProblem, freePort, RedisMemoryPressureData } from '../bus/index.js';
import { TargetRegistry, TargetsFileSchema } from '../targets/index.js';
import { HealthMonitor } from './index.js';
import { nextMessage, setup } from '../test/setup.js';
import { throwawayRedis } from '../test/redis.js';
import { createClient } from 'redis';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { throwawayCluster } from '../test/postgres.js';

/** The redis check kind publishes its own events: unreachable once per outage (no crash loop), memory pressure with the metrics. */
describe('health monitor: data-service check events', () => {
  it('publishes events.redis.unreachable once for a Redis that is down, and events.redis.memory_pressure with the metrics for a full one', async () => {
    await using ctx = await setup();
    await using redis = await throwawayRedis('5mb');
    const downPort = await freePort();
    const configs = TargetsFileSchema.parse({
      targets: [
        { name: 'gone', driver: 'process', command: 'sleep', args: ['60'], checks: [{ kind: 'redis', port: downPort, interval: '100ms', timeout: '100ms', startGrace: '0s' }] },
        { name: 'full', driver: 'process', command: 'sleep', args: ['60'], checks: [{ kind: 'redis', port: redis.port, interval: '100ms', startGrace: '0s' }] },
      ],
    }).targets;
    const registry = await TargetRegistry.create(configs, { targetCredentials: ctx.nats.credentials('target'), dir: ctx.dir, log: ctx.log });
    ctx.defer(() => registry.stopAll());
    const monitor = new HealthMonitor({ bus: await ctx.connect('monitor'), targets: registry.all(), log: ctx.log });
    ctx.defer(() => monitor.stop());
    const op = await ctx.connect('operator', 'watcher');
    const subjects: string[] = [];
    op.nc.subscribe('events.>', { callback: (_e, m) => void subjects.push(`${m.subject} ${m.json<{ target?: string }>().target}`) });
    const unreachable = nextMessage(op, 'events.redis.unreachable', (e) => e.target === 'gone', 10_000, DataServiceUnreachableData);
    await op.flush();
    monitor.start();
    await registry.startAll();

    const u = await unreachable;
    expect(u.data).toMatchObject({ target: 'gone', kind: 'redis', check: 'redis', failures: 1 });
    expect(u.data.reason).toMatch(/ECONNREFUSED|connect/);

    const pressure = nextMessage(op, 'events.redis.memory_pressure', (e) => e.target === 'full', 10_000, RedisMemoryPressureData);
    await op.flush();
    const r = createClient({ socket: { port: redis.port } });
    await r.connect();
    for (let i = 0; i < 100; i++) if (await r.set(`cache:${i}`, 'x'.repeat(256 * 1024)).catch(() => null) === null) break;
    await r.disconnect();
    const p = await pressure;
    expect(eventProblem('events.redis.memory_pressure', p.data)).toBeNull();
    expect(p.data.metrics.healthPct).toBeLessThan(30);
    expect(p.data.metrics.maxMemory).toBe(5 * 1024 * 1024);

    // many more polls of the dead server: still one unreachable event, the monitor still running
    await new Promise((res) => setTimeout(res, 1000));
    expect(subjects.filter((s) => s === 'events.redis.unreachable gone')).toHaveLength(1);
    expect(subjects.filter((s) => s.startsWith('events.target.unhealthy'))).toEqual([]);
    expect(monitor.state('gone')).toMatchObject({ running: true, healthy: false });
  });
});

describe('health monitor: data services that refuse auth', () => {
  it('a Redis and a PostgreSQL that refuse the check\'s password give one events.<kind>.unreachable each, a failing check, and no crash loop', async () => {
    await using ctx = await setup();
    await using redis = await throwawayRedis('50mb', ['--requirepass', 'right-redis-password']);
    await using cluster = await throwawayCluster({ password: 'right-pg-password' });
    const wrong = join(ctx.dir, 'wrong-password');
    writeFileSync(wrong, 'wrong-password\n', { mode: 0o600 });
    const configs = TargetsFileSchema.parse({
      targets: [
        { name: 'cache', driver: 'process', command: 'sleep', args: ['60'], checks: [{ kind: 'redis', port: redis.port, passwordFile: wrong, interval: '100ms', startGrace: '0s' }] },
        { name: 'db', driver: 'process', command: 'sleep', args: ['60'], checks: [{ kind: 'postgres', port: cluster.port, passwordFile: wrong, interval: '100ms', startGrace: '0s' }] },
      ],
    }).targets;
    const registry = await TargetRegistry.create(configs, { targetCredentials: ctx.nats.credentials('target'), dir: ctx.dir, log: ctx.log });
    ctx.defer(() => registry.stopAll());
    const monitor = new HealthMonitor({ bus: await ctx.connect('monitor'), targets: registry.all(), log: ctx.log });
    ctx.defer(() => monitor.stop());
    const op = await ctx.connect('operator', 'watcher');
    const seen: string[] = [];
    op.nc.subscribe('events.>', { callback: (_e, m) => void seen.push(`${m.subject} ${m.json<{ target?: string }>().target}`) });
    const redisDown = nextMessage(op, 'events.redis.unreachable', (e) => e.target === 'cache', 10_000, DataServiceUnreachableData);
    const pgDown = nextMessage(op, 'events.postgres.unreachable', (e) => e.target === 'db', 10_000, DataServiceUnreachableData);
    await op.flush();
    monitor.start();
    await registry.startAll();

    const r = await redisDown;
    expect(r.data).toMatchObject({ target: 'cache', kind: 'redis', failures: 1 });
    expect(r.data.reason).toMatch(/WRONGPASS|invalid username-password/i);
    const p = await pgDown;
    expect(p.data).toMatchObject({ target: 'db', kind: 'postgres', failures: 1 });
    expect(p.data.reason).toMatch(/password authentication failed for user "postgres"/);
    expect(p.data.reason).not.toContain('wrong-password');

    // ten more polls of each: no second event, the checks keep failing, the monitor keeps running
    const polls = (name: string) => monitor.state(name).checks[0]?.failures ?? 0; // consecutive failures: one per poll
    const from = { cache: polls('cache'), db: polls('db') };
    for (let end = Date.now() + 15_000; (polls('cache') < from.cache + 10 || polls('db') < from.db + 10) && Date.now() < end; ) await new Promise((res) => setTimeout(res, 50));
    expect(polls('cache')).toBeGreaterThanOrEqual(from.cache + 10);
    expect(polls('db')).toBeGreaterThanOrEqual(from.db + 10);
    expect(seen.filter((s) => s === 'events.redis.unreachable cache')).toHaveLength(1);
    expect(seen.filter((s) => s === 'events.postgres.unreachable db')).toHaveLength(1);
    for (const name of ['cache', 'db']) expect(monitor.state(name)).toMatchObject({ running: true, healthy: false, checks: [{ ok: false }] });
  });
});
