import { readFileSync } from 'node:fs';
import { createClient, type RedisClientType } from 'redis';
import { z } from 'zod';
import { defineCheckKind, pollFields, pollPlan, type ProbeOutcome } from './check-kind.js';

/** Where a Redis target is reached: the `redis` check's fields, also used by the redis.* handlers. */
export const RedisEndpointFields = {
  host: z.string().min(1).default('127.0.0.1').describe('Redis host (default 127.0.0.1).'),
  port: z.number().int().min(1).max(65535).optional().describe("Redis port (default: the target's `port`, e.g. a container's on the host network)."),
  user: z.string().min(1).optional().describe('ACL user (default: the default user).'),
  passwordFile: z.string().min(1).optional().describe('A file holding the password (never the password itself in the targets file).'),
};
export interface RedisEndpoint {
  host: string;
  port: number;
  user?: string;
  passwordFile?: string;
}

/** The node-redis options for `e`: no automatic reconnect (a failed poll drops the client, the next one connects anew). */
export function redisClientOptions(e: RedisEndpoint, connectTimeoutMs: number) {
  return {
    socket: { host: e.host, port: e.port, connectTimeout: connectTimeoutMs, reconnectStrategy: false as const },
    ...(e.user ? { username: e.user } : {}),
    ...(e.passwordFile ? { password: readFileSync(e.passwordFile, 'utf8').trim() } : {}),
    disableOfflineQueue: true,
  };
}

/** Parses `INFO` text into its `field:value` lines. */
export function parseInfo(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return out;
}

/** Redis memory health: 100 − used/max × 100 (100 when maxmemory is 0, i.e. unlimited). */
export function redisHealthPct(used: number, max: number): number {
  return max > 0 ? Math.round((100 - (used / max) * 100) * 10) / 10 : 100;
}

const OOM_MESSAGE = "OOM command not allowed when used memory > 'maxmemory'.";

interface Conn {
  client: RedisClientType;
  ready: Promise<unknown>;
  lastOom: number | null;
}
/** One connection per declared check, kept between polls (a poll then costs one INFO round trip). */
const conns = new WeakMap<object, Conn>();

/** `c` with its port (resolved at load; the probe context's port when it was parsed without its target). */
function withPort(c: z.infer<typeof schema>, targetPort: number | undefined): RedisCheck {
  if (c.port !== undefined) return c as RedisCheck;
  if (targetPort === undefined) throw new Error('the redis check has no port and its target none either');
  return Object.assign(c, { port: targetPort });
}

function connFor(c: RedisCheck, timeoutMs: number): Conn {
  let conn = conns.get(c);
  if (conn && conn.client.isOpen) return conn;
  const client = createClient(redisClientOptions(c, timeoutMs)) as RedisClientType;
  client.on('error', () => undefined); // surfaced by the failing command instead
  const ready = client.connect().then(() => client.unref());
  conn = { client, ready, lastOom: conn?.lastOom ?? null };
  conns.set(c, conn);
  return conn;
}

function drop(c: RedisCheck): void {
  const conn = conns.get(c);
  conns.delete(c);
  if (conn?.client.isOpen) void conn.client.disconnect().catch(() => undefined);
}

const schema = z
  .object({
    kind: z.literal('redis'),
    ...pollFields(5000),
    failures: z.number().int().min(1).max(100).default(1).describe('Consecutive failures that make the target unhealthy (default 1: a memory reading is not flaky).'),
    ...RedisEndpointFields,
    minHealth: z.number().min(0).max(100).default(30).describe('Fails when health % (100 − used/maxmemory × 100) is under this (default 30, i.e. ≥ 70 % used).'),
  })
  .strict();
/** A `redis` check with its port resolved at load (its own, else the target's). */
export type RedisCheck = z.infer<typeof schema> & { port: number };

/**
 * `redis`: `INFO memory errorstats` over a kept connection. Fails (→ `events.redis.memory_pressure`)
 * when health % is under `minHealth` or writes were refused with OOM since the last poll; a server
 * that is down, refuses auth or answers garbage fails as unreachable (→ `events.redis.unreachable`).
 */
export const redisCheck = defineCheckKind({
  kind: 'redis',
  schema,
  events: { failure: 'redis.memory_pressure', unreachable: 'redis.unreachable' },
  plan: pollPlan,
  async probe(check, ctx): Promise<ProbeOutcome> {
    const c = withPort(check, ctx.port);
    const conn = connFor(c, ctx.timeoutMs);
    const onAbort = () => drop(c);
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    let info: Map<string, string>;
    try {
      await conn.ready;
      info = parseInfo(String(await conn.client.sendCommand(['INFO', 'memory', 'errorstats'])));
    } catch (e) {
      drop(c);
      return { ok: false, unreachable: true, reason: `redis ${c.host}:${c.port}: ${(e as Error).message || String(e)}` };
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
    }
    const used = Number(info.get('used_memory'));
    const max = Number(info.get('maxmemory'));
    if (!Number.isFinite(used) || !Number.isFinite(max)) {
      drop(c);
      return { ok: false, unreachable: true, reason: `redis ${c.host}:${c.port} answered INFO without used_memory/maxmemory` };
    }
    const oom = Number(/count=(\d+)/.exec(info.get('errorstat_OOM') ?? '')?.[1] ?? 0);
    // counters go down after CONFIG RESETSTAT: then every error counted now is new
    const delta = conn.lastOom === null ? 0 : oom >= conn.lastOom ? oom - conn.lastOom : oom;
    conn.lastOom = oom;
    const healthPct = redisHealthPct(used, max);
    const metrics = {
      usedMemory: used,
      maxMemory: max,
      healthPct,
      policy: info.get('maxmemory_policy') ?? '',
      oomErrors: oom,
      oomErrorsDelta: delta,
      recentErrors: delta > 0 ? [OOM_MESSAGE] : [],
    };
    const mb = (n: number) => (n / 1048576).toFixed(1);
    const seen = `health ${healthPct} % (${mb(used)} of ${max ? mb(max) : '∞'} MB)`;
    if (healthPct < c.minHealth) return { ok: false, metrics, reason: `${seen} is under ${c.minHealth} %` };
    if (delta > 0) return { ok: false, metrics, reason: `${seen}; ${delta} write(s) refused: ${OOM_MESSAGE}` };
    return { ok: true, metrics, reason: seen };
  },
});
