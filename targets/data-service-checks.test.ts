import { createServer, type Socket } from 'node:net';
import { createClient } from 'redis';
import { describe, expect, it } from 'vitest';
import { freePort } from '../bus/index.js';
import { throwawayCluster } from '../test/postgres.js';
import { throwawayRedis } from '../test/redis.js';
import { parseCheck, runCheck, type CheckConfig } from './index.js';

const ctx = { target: 't', driver: {} as never, heartbeatAgeMs: () => null };
const check = (c: Record<string, unknown>): CheckConfig => parseCheck(c);

/** A TCP server that answers every connection with text no Redis or PostgreSQL client understands. */
async function garbageServer(): Promise<{ port: number } & AsyncDisposable> {
  const sockets = new Set<Socket>();
  const srv = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.write('HTTP/1.1 418 teapot\r\n\r\n');
  });
  const port = await freePort();
  await new Promise<void>((r) => srv.listen(port, '127.0.0.1', r));
  return {
    port,
    [Symbol.asyncDispose]: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => srv.close(() => r()));
    },
  };
}

describe('redis check', () => {
  it('passes on an empty Redis with its memory metrics, fails under minHealth once filled, and counts refused writes', async () => {
    await using redis = await throwawayRedis('10mb');
    const c = check({ kind: 'redis', port: redis.port, minHealth: 30 });
    const ok = await runCheck(c, ctx);
    expect(ok).toMatchObject({ ok: true, kind: 'redis', metrics: { maxMemory: 10 * 1024 * 1024, policy: 'noeviction', oomErrors: 0 } });
    expect((ok.metrics as { healthPct: number }).healthPct).toBeGreaterThan(70);

    const r = createClient({ socket: { port: redis.port } });
    await r.connect();
    let refused = '';
    for (let i = 0; i < 1000 && !refused; i++) await r.set(`cache:${i}`, 'x'.repeat(256 * 1024)).catch((e: Error) => (refused = e.message));
    await r.disconnect();
    expect(refused).toMatch(/^OOM command not allowed/);

    const bad = await runCheck(c, ctx);
    expect(bad.ok).toBe(false);
    expect(bad.unreachable).toBeUndefined();
    expect(bad.reason).toMatch(/is under 30 %/);
    expect(bad.metrics).toMatchObject({ oomErrors: 1, oomErrorsDelta: 1, recentErrors: ["OOM command not allowed when used memory > 'maxmemory'."] });
    // the refused write is counted once: the next poll sees no new one
    expect((await runCheck(c, ctx)).metrics).toMatchObject({ oomErrors: 1, oomErrorsDelta: 0 });
  });

  it('fails as unreachable, without throwing, when Redis is down or answers garbage', async () => {
    const down = await runCheck(check({ kind: 'redis', port: await freePort(), timeout: '500ms' }), ctx);
    expect(down).toMatchObject({ ok: false, unreachable: true });
    expect(down.reason).toMatch(/ECONNREFUSED|connect/);
    await using g = await garbageServer();
    const garbage = await runCheck(check({ kind: 'redis', port: g.port, timeout: '500ms' }), ctx);
    expect(garbage).toMatchObject({ ok: false });
    expect(garbage.unreachable === true || /no answer within/.test(garbage.reason)).toBe(true);
  });
});

describe('postgres check', () => {
  it('counts client backends against max_connections, fails above maxUsage, and as unreachable when down or garbage', async () => {
    await using pgc = await throwawayCluster();
    const c = check({ kind: 'postgres', port: pgc.port, maxUsage: 5 });
    const first = await runCheck(c, { ...ctx });
    // the check's own connection is one client backend of the default 100
    expect(first).toMatchObject({ ok: true, metrics: { clients: 1, maxConnections: 100, usagePct: 1, active: 1 } });
    const pg = (await import('pg')).default;
    const held = await Promise.all(Array.from({ length: 6 }, async () => {
      const cl = new pg.Client({ connectionString: pgc.url });
      await cl.connect();
      return cl;
    }));
    const busy = await runCheck(c, ctx);
    expect(busy).toMatchObject({ ok: false, metrics: { clients: 7, usagePct: 7, idle: 6 } });
    expect(busy.reason).toMatch(/is above 5 %/);
    await Promise.all(held.map((h) => h.end()));

    const down = await runCheck(check({ kind: 'postgres', port: await freePort(), timeout: '500ms' }), ctx);
    expect(down).toMatchObject({ ok: false, unreachable: true });
    await using g = await garbageServer();
    const garbage = await runCheck(check({ kind: 'postgres', port: g.port, timeout: '500ms' }), ctx);
    expect(garbage.ok).toBe(false);
    expect(garbage.unreachable === true || /no answer within/.test(garbage.reason)).toBe(true);
  });
});
