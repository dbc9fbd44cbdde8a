import { createClient, type RedisClientType } from 'redis';
import { z } from 'zod';
import { parseInfo, redisClientOptions, redisHealthPct, type RedisCheck } from '../targets/index.js';
import { declareAction, defineAction } from './action.js';
import type { DataServiceGuard } from './data-service-guard.js';

const TargetParam = z.object({ target: z.string().min(1) }).strict();

export const redisPurgeSpec = declareAction({
  name: 'redis.purge',
  description: "Delete a Redis target's keys matching a declared pattern (SCAN + UNLINK, never KEYS); a pattern matching every key is refused.",
  params: z.object({ target: z.string().min(1), pattern: z.string().min(1).max(200), count: z.number().int().min(10).max(10_000).default(1000) }).strict(),
  returns: '`{ target, command, deleted, scanned, healthBefore, healthAfter }` (health % = 100 − used/maxmemory × 100)',
  risk: 'medium',
  idempotent: true,
  probe: false,
});

export const redisFlushallSpec = declareAction({
  name: 'redis.flushall',
  description: "Delete every key of a Redis target (FLUSHALL): approval required by default.",
  params: TargetParam,
  returns: '`{ target, command, healthBefore, healthAfter }`',
  risk: 'high',
  idempotent: true,
  probe: false,
});

export const redisMemorySpec = declareAction({
  name: 'redis.memory',
  description: "Probe a Redis target's memory: INFO memory and errorstats.",
  params: TargetParam,
  returns: '`{ target, healthy, usedMemory, maxMemory, healthPct, policy, oomErrors, keys }`: healthy when health % is at least the check\'s `minHealth`',
  risk: 'low',
  idempotent: true,
  probe: true,
});

async function withRedis<T>(c: RedisCheck, fn: (r: RedisClientType) => Promise<T>): Promise<T> {
  const client = createClient(redisClientOptions(c, 2000)) as RedisClientType;
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.disconnect().catch(() => undefined);
  }
}

async function memory(r: RedisClientType) {
  const info = parseInfo(String(await r.sendCommand(['INFO', 'memory', 'errorstats'])));
  const used = Number(info.get('used_memory'));
  const max = Number(info.get('maxmemory'));
  if (!Number.isFinite(used) || !Number.isFinite(max)) throw new Error('INFO answered without used_memory/maxmemory');
  return {
    usedMemory: used,
    maxMemory: max,
    healthPct: redisHealthPct(used, max),
    policy: info.get('maxmemory_policy') ?? '',
    oomErrors: Number(/count=(\d+)/.exec(info.get('errorstat_OOM') ?? '')?.[1] ?? 0),
    keys: await r.dbSize(),
  };
}

/** `redis.purge`: SCAN MATCH `pattern` and UNLINK what it finds, through the guard. */
export function redisPurge(guard: DataServiceGuard) {
  return defineAction({
    ...redisPurgeSpec,
    async run(p) {
      const c = guard.redis(p.target, 'redis.purge');
      guard.purgePattern(p.pattern);
      return withRedis(c, async (r) => {
        const before = await memory(r);
        let deleted = 0;
        let scanned = 0;
        for await (const keys of scanBatches(r, p.pattern, p.count)) {
          scanned += keys.length;
          if (keys.length) deleted += await r.unlink(keys);
        }
        const after = await memory(r);
        const command = `redis-cli -h ${c.host} -p ${c.port} --scan --pattern '${p.pattern}' | xargs redis-cli UNLINK`;
        return {
          result: { target: p.target, command, deleted, scanned, healthBefore: before.healthPct, healthAfter: after.healthPct },
          exitCode: 0,
          command,
          healthBefore: before.healthPct,
          healthAfter: after.healthPct,
          stdout: `deleted ${deleted} of ${scanned} scanned keys; health ${before.healthPct} % → ${after.healthPct} %`,
        };
      });
    },
  });
}

async function* scanBatches(r: RedisClientType, pattern: string, count: number): AsyncGenerator<string[]> {
  let cursor = 0;
  do {
    const reply = await r.scan(cursor, { MATCH: pattern, COUNT: count });
    cursor = reply.cursor;
    yield reply.keys;
  } while (cursor !== 0);
}

/** `redis.flushall`: FLUSHALL (risk high: a step must have approval unless it lowers the risk). */
export function redisFlushall(guard: DataServiceGuard) {
  return defineAction({
    ...redisFlushallSpec,
    async run(p) {
      const c = guard.redis(p.target, 'redis.flushall');
      return withRedis(c, async (r) => {
        const before = await memory(r);
        await r.flushAll();
        const after = await memory(r);
        const command = `redis-cli -h ${c.host} -p ${c.port} FLUSHALL`;
        return {
          result: { target: p.target, command, healthBefore: before.healthPct, healthAfter: after.healthPct },
          exitCode: 0,
          command,
          healthBefore: before.healthPct,
          healthAfter: after.healthPct,
          stdout: `flushed ${before.keys} keys; health ${before.healthPct} % → ${after.healthPct} %`,
        };
      });
    },
  });
}

/** `redis.memory` (a probe): the target's memory health. */
export function redisMemory(guard: DataServiceGuard) {
  return defineAction({
    ...redisMemorySpec,
    async run(p) {
      const c = guard.redis(p.target, 'redis.memory');
      const m = await withRedis(c, memory);
      return { result: { target: p.target, healthy: m.healthPct >= c.minHealth, ...m } };
    },
  });
}
