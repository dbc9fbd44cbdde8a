import { z } from 'zod';
import { TargetUnhealthyData } from './target-payloads.js';

/**
 * Payloads of the data-service families: `events.redis.*` and `events.postgres.*` (published by
 * the health monitor from the `redis` and `postgres` check kinds) and the chaos faults aimed at
 * them (`chaos.redis_fill`, `chaos.pg_exhaust`).
 */

/** What every data-service check event carries: the fields of `events.target.unhealthy` (which check, why, how long). */
const CheckEventBase = TargetUnhealthyData.shape;

/** Redis `INFO memory` / `INFO errorstats` as the `redis` check read them. */
export const RedisMetrics = z.object({
  usedMemory: z.number().int().nonnegative(),
  maxMemory: z.number().int().nonnegative(),
  /** 100 − used/max × 100 (100 when maxmemory is 0, i.e. unlimited). */
  healthPct: z.number(),
  policy: z.string(),
  /** `errorstat_OOM` count (refused writes); it can go down after CONFIG RESETSTAT. */
  oomErrors: z.number().int().nonnegative(),
  /** OOM errors since the previous poll (never negative). */
  oomErrorsDelta: z.number().int().nonnegative(),
  /** The last errors seen, e.g. `OOM command not allowed when used memory > 'maxmemory'.` */
  recentErrors: z.array(z.string()),
});
export type RedisMetrics = z.infer<typeof RedisMetrics>;

/** `events.redis.memory_pressure`: Redis health % fell under the check's threshold (or it refuses writes). */
export const RedisMemoryPressureData = z.object({ ...CheckEventBase, metrics: RedisMetrics });
export type RedisMemoryPressureData = z.infer<typeof RedisMemoryPressureData>;

/** PostgreSQL client backends from `pg_stat_activity` as the `postgres` check read them. */
export const PostgresMetrics = z.object({
  /** `backend_type = 'client backend'` rows (the check's own included). */
  clients: z.number().int().nonnegative(),
  maxConnections: z.number().int().positive(),
  /** clients / max_connections × 100. */
  usagePct: z.number(),
  active: z.number().int().nonnegative(),
  idle: z.number().int().nonnegative(),
  idleInTransaction: z.number().int().nonnegative(),
  /** A probe was refused with `too many clients already`. */
  refused: z.boolean(),
});
export type PostgresMetrics = z.infer<typeof PostgresMetrics>;

/** `events.postgres.connection_exhaustion`: usage crossed the check's threshold, or a new client was refused. */
export const PostgresConnectionExhaustionData = z.object({ ...CheckEventBase, metrics: PostgresMetrics.nullable() });
export type PostgresConnectionExhaustionData = z.infer<typeof PostgresConnectionExhaustionData>;

/** `events.redis.unreachable` / `events.postgres.unreachable`: the server is down, refuses auth, or answers garbage. */
export const DataServiceUnreachableData = z.object(CheckEventBase);
export type DataServiceUnreachableData = z.infer<typeof DataServiceUnreachableData>;

/** `chaos.redis_fill`: write `<prefix><n>` values to the target's Redis until it answers OOM. */
export const ChaosRedisFillData = z
  .object({
    target: z.string().min(1),
    valueBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(512 * 1024),
    /** Key prefix (default `cache:fill:`, inside redis-oom's purge pattern; e.g. `session:fill:` is outside it). */
    prefix: z.string().regex(/^[A-Za-z0-9:_-]{1,64}$/, 'letters, digits, ":", "_" or "-"').default('cache:fill:'),
  })
  .strict();
export type ChaosRedisFillData = z.infer<typeof ChaosRedisFillData>;

/** `chaos.pg_exhaust`: open connections to the target's PostgreSQL until it refuses, hold them `hold` seconds, then release them. */
export const ChaosPgExhaustData = z.object({ target: z.string().min(1), hold: z.number().positive().max(3600).default(20) }).strict();
export type ChaosPgExhaustData = z.infer<typeof ChaosPgExhaustData>;
