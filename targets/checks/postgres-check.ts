import { readFileSync } from 'node:fs';
import pg from 'pg';
import { z } from 'zod';
import { defineCheckKind, pollFields, pollPlan, type ProbeOutcome } from './check-kind.js';

/** Where a PostgreSQL target is reached: the `postgres` check's fields, also used by the postgres.* handlers. */
export const PostgresEndpointFields = {
  host: z.string().min(1).default('127.0.0.1').describe('PostgreSQL host (default 127.0.0.1).'),
  port: z.number().int().min(1).max(65535).optional().describe("PostgreSQL port (default: the target's `port`, e.g. a container's on the host network)."),
  user: z.string().min(1).default('postgres').describe('The monitoring role the check and handlers connect as (default postgres).'),
  passwordFile: z.string().min(1).optional().describe('A file holding that role\'s password (never the password itself in the targets file).'),
  database: z.string().min(1).default('postgres').describe('Database to connect to (default postgres).'),
  appRole: z.string().min(1).optional().describe("The target's application role: the only role whose idle backends postgres.terminate_idle may end."),
};
export interface PostgresEndpoint {
  host: string;
  port: number;
  user: string;
  passwordFile?: string;
  database: string;
  appRole?: string;
}

/** node-postgres options for `e`. */
export function pgClientOptions(e: PostgresEndpoint, connectTimeoutMs: number): pg.ClientConfig {
  return {
    host: e.host,
    port: e.port,
    user: e.user,
    database: e.database,
    ...(e.passwordFile ? { password: readFileSync(e.passwordFile, 'utf8').trim() } : {}),
    connectionTimeoutMillis: connectTimeoutMs,
    application_name: 'homeostat',
  };
}

/** `too many clients already` (53300) or a reserved-slot refusal: the server refuses new clients. */
export function isTooManyClients(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  return err?.code === '53300' || /too many clients|remaining connection slots are reserved/i.test(err?.message ?? '');
}

export const CONNECTIONS_SQL = `SELECT
  count(*) FILTER (WHERE backend_type = 'client backend')::int AS clients,
  count(*) FILTER (WHERE backend_type = 'client backend' AND state = 'active')::int AS active,
  count(*) FILTER (WHERE backend_type = 'client backend' AND state = 'idle')::int AS idle,
  count(*) FILTER (WHERE backend_type = 'client backend' AND state IN ('idle in transaction', 'idle in transaction (aborted)'))::int AS idle_in_transaction,
  current_setting('max_connections')::int AS max_connections
FROM pg_stat_activity`;

/** Reads the connection metrics with `q` (a pool or client). */
export async function readConnections(q: { query: pg.Pool['query'] }) {
  const r = await q.query<{ clients: number; active: number; idle: number; idle_in_transaction: number; max_connections: number }>(CONNECTIONS_SQL);
  const row = r.rows[0];
  if (!row || !Number.isInteger(row.max_connections)) throw new Error('pg_stat_activity gave no row');
  return {
    clients: row.clients,
    maxConnections: row.max_connections,
    usagePct: Math.round((row.clients / row.max_connections) * 1000) / 10,
    active: row.active,
    idle: row.idle,
    idleInTransaction: row.idle_in_transaction,
    refused: false,
  };
}

/** Checks whose application role was seen once (then it is not asked again). */
const rolesSeen = new WeakSet<object>();

/** One pool (of one kept connection) per declared check; an idle pool never holds the process open. */
const pools = new WeakMap<object, pg.Pool>();

function poolFor(c: PostgresCheck, timeoutMs: number): pg.Pool {
  let pool = pools.get(c);
  if (pool) return pool;
  pool = new pg.Pool({ ...pgClientOptions(c, timeoutMs), max: 1, allowExitOnIdle: true, idleTimeoutMillis: 60_000 });
  pool.on('error', () => undefined); // a kept connection that dies is replaced on the next poll
  pools.set(c, pool);
  return pool;
}

const schema = z
  .object({
    kind: z.literal('postgres'),
    ...pollFields(10_000),
    failures: z.number().int().min(1).max(100).default(1).describe('Consecutive failures that make the target unhealthy (default 1).'),
    ...PostgresEndpointFields,
    maxUsage: z.number().min(1).max(100).default(80).describe('Fails when client backends / max_connections × 100 is above this (default 80).'),
  })
  .strict();
/** A `postgres` check with its port resolved at load (its own, else the target's). */
export type PostgresCheck = z.infer<typeof schema> & { port: number };

/**
 * `postgres`: client backends of `pg_stat_activity` (`backend_type = 'client backend'`) vs
 * `max_connections`, over a kept connection. Fails (→ `events.postgres.connection_exhaustion`) above
 * `maxUsage` % or when connecting is refused with `too many clients already`; a server that is
 * down, refuses auth or answers garbage fails as unreachable (→ `events.postgres.unreachable`).
 */
export const postgresCheck = defineCheckKind({
  kind: 'postgres',
  schema,
  events: { failure: 'postgres.connection_exhaustion', unreachable: 'postgres.unreachable' },
  plan: pollPlan,
  async probe(check, ctx): Promise<ProbeOutcome> {
    if (check.port === undefined && ctx.port === undefined) throw new Error('the postgres check has no port and its target none either');
    // the same object (pools and roles are kept per declared check)
    const c = (check.port === undefined ? Object.assign(check, { port: ctx.port }) : check) as PostgresCheck;
    const pool = poolFor(c, ctx.timeoutMs);
    let metrics;
    try {
      metrics = await readConnections(pool);
    } catch (e) {
      const msg = (e as Error).message || String(e);
      if (isTooManyClients(e)) return { ok: false, reason: `postgres ${c.host}:${c.port} refused a new client: ${msg}` };
      return { ok: false, unreachable: true, reason: `postgres ${c.host}:${c.port}: ${msg}` };
    }
    // a cluster whose application role does not exist yet (the builtin creates it just after start) is not ready
    if (c.appRole && !rolesSeen.has(c)) {
      const r = await pool.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [c.appRole]).catch(() => null);
      if (!r?.rowCount) return { ok: false, unreachable: true, reason: `postgres ${c.host}:${c.port}: the application role "${c.appRole}" does not exist` };
      rolesSeen.add(c);
    }
    const seen = `${metrics.clients} of ${metrics.maxConnections} connections (${metrics.usagePct} %; ${metrics.active} active, ${metrics.idle} idle, ${metrics.idleInTransaction} idle in transaction)`;
    if (metrics.usagePct > c.maxUsage) return { ok: false, metrics, reason: `${seen} is above ${c.maxUsage} %` };
    return { ok: true, metrics, reason: seen };
  },
});
