import pg from 'pg';
import pino from 'pino';
import { createClient } from 'redis';
import { describe, expect, it } from 'vitest';
import { freePort } from '../bus/index.js';
import { DockerTargetSchema } from '../targets/config.js';
import { runCheck, TargetRegistry, type TargetRuntime } from '../targets/index.js';
import { containerName, removeContainers, requireDocker } from '../test/docker.js';
import { DataServiceGuard, postgresConnections, postgresTerminateIdle, processRestart, redisMemory, redisPurge } from './index.js';

const log = pino({ level: 'silent' });
const actx = { actionId: 'a1', log };

/** Polls `t`'s declared checks until they all pass (a started container takes a moment to listen). */
async function checksPass(t: TargetRuntime, withinMs = 30_000): Promise<void> {
  const end = performance.now() + withinMs;
  let last = '';
  while (performance.now() < end) {
    const all = await Promise.all(t.checks.map((c) => runCheck(c, { target: t.config.name, driver: t.driver, port: t.port, heartbeatAgeMs: () => null })));
    if (all.every((a) => a.ok)) return;
    last = all.map((a) => a.reason).join('; ');
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${t.config.name}'s checks did not pass within ${withinMs} ms: ${last}`);
}

/**
 * The data-service handlers against containers of a real dockerd (homeostat/redis:1 and
 * homeostat/postgres:1 from targets/docker-images.sh, host network): the endpoint comes from the
 * docker target's port, and the playbooks' restart fallback (`process.restart`) goes through the docker driver.
 */
describe('data-service actions on docker targets (real dockerd)', () => {
  it('redis-oom\'s fallback: a purge that frees nothing leaves the container full; process.restart restarts it through the docker driver and writes succeed again', async () => {
    const docker = await requireDocker();
    const [port, name] = [await freePort(), containerName('redis')];
    const target = DockerTargetSchema.parse({
      name: 'cache', driver: 'docker', container: name, port, stopGrace: '1s',
      create: { image: 'homeostat/redis:1', command: ['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--maxmemory', '8mb', '--maxmemory-policy', 'noeviction', '--save', '', '--appendonly', 'no'] },
      checks: [{ kind: 'redis' }],
    });
    const reg = await TargetRegistry.create([target], { targetCredentials: { url: '' }, log });
    try {
      await reg.startAll();
      const t = reg.get('cache');
      expect(t.checks[0]).toMatchObject({ kind: 'redis', host: '127.0.0.1', port });
      await checksPass(t);
      const r = createClient({ socket: { port, reconnectStrategy: false } });
      r.on('error', () => undefined);
      await r.connect();
      let oom = '';
      for (let i = 0; i < 10_000 && !oom; i++) await r.set(`session:${i}`, 'x'.repeat(64 * 1024)).catch((e: Error) => (oom = e.message));
      expect(oom).toMatch(/^OOM/);
      await r.disconnect().catch(() => undefined);

      const guard = new DataServiceGuard(reg);
      const purge = await redisPurge(guard).run({ target: 'cache', pattern: 'cache:*', count: 1000 }, actx);
      expect(purge.result).toMatchObject({ deleted: 0 });
      expect(purge.healthAfter).toBeLessThanOrEqual(80);

      const before = await t.driver.status();
      const restart = await processRestart(reg).run({ target: 'cache' }, actx);
      expect(restart.command).toBe('restart cache (docker driver)');
      const after = await t.driver.status();
      expect(after).toMatchObject({ running: true, restarts: 1, container: { id: before.container!.id, status: 'running' } });
      expect(after.pid).not.toBe(before.pid);

      await checksPass(t);
      expect((await redisMemory(guard).run({ target: 'cache' }, actx)).result).toMatchObject({ healthy: true, keys: 0 });
      const w = createClient({ socket: { port, reconnectStrategy: false } });
      await w.connect();
      expect(await w.set('probe', 'ok')).toBe('OK');
      await w.disconnect();

      // a stopped container: the check fails as unreachable (→ events.redis.unreachable), it does not throw
      await t.driver.stop();
      const down = await runCheck(t.checks[0]!, { target: 'cache', driver: t.driver, port: t.port, heartbeatAgeMs: () => null });
      expect(down).toMatchObject({ ok: false, unreachable: true });
      expect(down.reason).toContain(`redis 127.0.0.1:${port}`);
    } finally {
      await reg.stopAll();
      await removeContainers(docker, [name]);
    }
  });

  it('postgres-connection-exhaustion\'s fallback: active backends are not idle, so terminate_idle ends none; the restart through the docker driver is a fast shutdown (exit 0, not killed) and a fresh client connects', async () => {
    const docker = await requireDocker();
    const [port, name] = [await freePort(), containerName('pg')];
    const target = DockerTargetSchema.parse({
      name: 'db', driver: 'docker', container: name, port, stopGrace: '10s',
      create: { image: 'homeostat/postgres:1', env: { PGPORT: String(port), PG_APP_ROLE: 'app' } },
      checks: [{ kind: 'postgres', user: 'postgres', appRole: 'app', maxUsage: 80 }],
    });
    const reg = await TargetRegistry.create([target], { targetCredentials: { url: '' }, log });
    const held: pg.Client[] = [];
    try {
      await reg.startAll();
      const t = reg.get('db');
      await checksPass(t, 60_000);
      // 12 of 20 slots busy in long queries: active, not idle
      for (let i = 0; i < 12; i++) {
        const c = new pg.Client({ host: '127.0.0.1', port, user: 'app', database: 'postgres' });
        c.on('error', () => undefined);
        await c.connect();
        void c.query('SELECT pg_sleep(120)').catch(() => undefined);
        held.push(c);
      }
      const guard = new DataServiceGuard(reg);
      const term = await postgresTerminateIdle(guard).run({ target: 'db' }, actx);
      expect(term.result).toMatchObject({ role: 'app', terminated: 0 });
      expect(term.result!['usageAfter']).toBeGreaterThanOrEqual(50);

      await processRestart(reg).run({ target: 'db' }, actx);
      const status = await t.driver.status();
      expect(status).toMatchObject({ running: true, restarts: 1, lastExit: { code: 0 } });
      await checksPass(t, 60_000);
      const probe = await postgresConnections(guard).run({ target: 'db' }, actx);
      expect(probe.result).toMatchObject({ healthy: true, connects: true });
      expect(probe.result!['usagePct']).toBeLessThan(50);
      const fresh = new pg.Client({ host: '127.0.0.1', port, user: 'app', database: 'postgres' });
      await fresh.connect();
      expect((await fresh.query('SELECT current_user AS u')).rows[0]).toEqual({ u: 'app' });
      await fresh.end();
    } finally {
      await Promise.all(held.map((c) => c.end().catch(() => undefined)));
      await reg.stopAll();
      await removeContainers(docker, [name]);
    }
  });
});
