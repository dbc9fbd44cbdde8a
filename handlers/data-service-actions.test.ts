import pg from 'pg';
import pino from 'pino';
import { createClient } from 'redis';
import { describe, expect, it } from 'vitest';
import { parseCheck, type CheckConfig } from '../targets/index.js';
import { throwawayCluster } from '../test/postgres.js';
import { throwawayRedis } from '../test/redis.js';
import { actionSpec, DataServiceGuard, DataServiceRefusedError, postgresConnections, postgresTerminateIdle, redisFlushall, redisMemory, redisPurge } from './index.js';

const actx = { actionId: 'a1', log: pino({ level: 'silent' }) };
/** The guard reads targets' declared checks: here, one target named `svc` with `checks`. */
const guardOf = (...checks: Record<string, unknown>[]) => new DataServiceGuard({ get: () => ({ checks: checks.map((c): CheckConfig => parseCheck(c)) }) });

describe('redis actions', () => {
  it('purges only the keys of the declared pattern (SCAN + UNLINK) and refuses a pattern matching every key', async () => {
    await using redis = await throwawayRedis();
    const r = createClient({ socket: { port: redis.port } });
    await r.connect();
    for (let i = 0; i < 2500; i++) await r.set(`cache:${i}`, 'v');
    await r.set('session:1', 'keep');
    const guard = guardOf({ kind: 'redis', port: redis.port });

    const out = await redisPurge(guard).run({ target: 'svc', pattern: 'cache:*', count: 1000 }, actx);
    expect(out.result).toMatchObject({ target: 'svc', deleted: 2500 });
    expect(out.result!.command).toContain("--pattern 'cache:*'");
    expect(await r.dbSize()).toBe(1);
    expect(await r.get('session:1')).toBe('keep');

    for (const pattern of ['*', '**', '?*', '*?*']) {
      await expect(redisPurge(guard).run({ target: 'svc', pattern, count: 1000 }, actx)).rejects.toMatchObject({ name: 'DataServiceRefusedError', rule: 'match-all-pattern', refused: true, code: 'HANDLER_REFUSED_MATCH_ALL_PATTERN' });
    }
    expect(await r.dbSize()).toBe(1);

    const mem = await redisMemory(guard).run({ target: 'svc' }, actx);
    expect(mem.result).toMatchObject({ healthy: true, keys: 1, maxMemory: 50 * 1024 * 1024, policy: 'noeviction' });
    expect(actionSpec('redis.flushall')).toMatchObject({ risk: 'high', probe: false });
    await redisFlushall(guard).run({ target: 'svc' }, actx);
    expect(await r.dbSize()).toBe(0);
    await r.disconnect();
  });

  it('refuses a target without a redis check: connection details never come from the event', async () => {
    const guard = guardOf({ kind: 'tcp', port: 1 });
    await expect(redisPurge(guard).run({ target: 'svc', pattern: 'cache:*', count: 1000 }, actx)).rejects.toMatchObject({ rule: 'no-endpoint' });
  });
});

describe('postgres actions', () => {
  it("terminates only the application role's idle backends, never a superuser's nor its own, and refuses another role by rule", async () => {
    await using cluster = await throwawayCluster();
    const admin = new pg.Client({ connectionString: cluster.url });
    await admin.connect();
    await admin.query('CREATE ROLE app LOGIN NOSUPERUSER');
    const open = (user: string) => {
      const c = new pg.Client({ host: '127.0.0.1', port: cluster.port, user, database: 'postgres' });
      c.on('error', () => undefined);
      return c.connect().then(() => c);
    };
    const apps = await Promise.all([open('app'), open('app'), open('app')]);
    await apps[0].query('BEGIN'); // idle in transaction
    const superIdle = await open('postgres');
    const guard = guardOf({ kind: 'postgres', port: cluster.port, appRole: 'app' });

    await expect(postgresTerminateIdle(guard).run({ target: 'svc', role: 'postgres' }, actx)).rejects.toMatchObject({ rule: 'outside-app-role', code: 'HANDLER_REFUSED_OUTSIDE_APP_ROLE' });
    const out = await postgresTerminateIdle(guard).run({ target: 'svc' }, actx);
    expect(out.result).toMatchObject({ role: 'app', terminated: 3 });
    const left = await admin.query<{ usename: string }>("SELECT usename FROM pg_stat_activity WHERE backend_type = 'client backend' ORDER BY usename");
    expect(left.rows.map((x) => x.usename)).toEqual(['postgres', 'postgres']);
    expect((await superIdle.query('SELECT 1 AS one')).rows[0]).toEqual({ one: 1 });

    const probe = await postgresConnections(guard).run({ target: 'svc' }, actx);
    expect(probe.result).toMatchObject({ healthy: true, connects: true, clients: 3, maxConnections: 100 });

    const superApp = guardOf({ kind: 'postgres', port: cluster.port, appRole: 'postgres' });
    const refused = postgresTerminateIdle(superApp).run({ target: 'svc' }, actx);
    await expect(refused).rejects.toBeInstanceOf(DataServiceRefusedError);
    await expect(refused).rejects.toMatchObject({ rule: 'superuser-role' });
    await expect(postgresTerminateIdle(guardOf({ kind: 'postgres', port: cluster.port })).run({ target: 'svc' }, actx)).rejects.toMatchObject({ rule: 'outside-app-role' });
    await Promise.all([superIdle.end(), admin.end(), ...apps.map((a) => a.end().catch(() => undefined))]);
  });
});
