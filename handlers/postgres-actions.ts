import pg from 'pg';
import { z } from 'zod';
import { isTooManyClients, pgClientOptions, readConnections, type PostgresCheck } from '../targets/index.js';
import { declareAction, defineAction } from './action.js';
import type { DataServiceGuard } from './data-service-guard.js';

export const postgresTerminateIdleSpec = declareAction({
  name: 'postgres.terminate_idle',
  description: "End idle and idle-in-transaction backends of a PostgreSQL target's application role (never a superuser's, a replication connection or its own).",
  params: z
    .object({
      target: z.string().min(1),
      role: z.string().min(1).optional().describe('Must be the application role (appRole of the postgres check); default it.'),
    })
    .strict(),
  returns: '`{ target, command, role, terminated, pids, usageBefore, usageAfter }` (usage % of max_connections; the action record\'s health % is 100 − usage)',
  risk: 'medium',
  idempotent: true,
  probe: false,
});

export const postgresConnectionsSpec = declareAction({
  name: 'postgres.connections',
  description: "Probe a PostgreSQL target's connections: client backends vs max_connections, and whether a new client connects.",
  params: z.object({ target: z.string().min(1) }).strict(),
  returns: '`{ target, healthy, connects, clients, maxConnections, usagePct, active, idle, idleInTransaction, error? }`: healthy when a new client connects and usage is at most the check\'s `maxUsage`',
  risk: 'low',
  idempotent: true,
  probe: true,
});

async function withPg<T>(c: PostgresCheck, fn: (db: pg.Client) => Promise<T>): Promise<T> {
  const db = new pg.Client(pgClientOptions(c, 2000));
  db.on('error', () => undefined);
  await db.connect();
  try {
    return await fn(db);
  } finally {
    await db.end().catch(() => undefined);
  }
}

const TERMINATE_SQL = `SELECT pid, pg_terminate_backend(pid) AS ok FROM pg_stat_activity a
  JOIN pg_roles r ON r.rolname = a.usename
  WHERE a.backend_type = 'client backend' AND a.usename = $1 AND NOT r.rolsuper AND a.pid <> pg_backend_pid()
    AND a.state IN ('idle', 'idle in transaction', 'idle in transaction (aborted)')`;

/** `postgres.terminate_idle`: pg_terminate_backend on the application role's idle backends, through the guard. */
export function postgresTerminateIdle(guard: DataServiceGuard) {
  return defineAction({
    ...postgresTerminateIdleSpec,
    async run(p) {
      const c = guard.postgres(p.target, 'postgres.terminate_idle');
      return withPg(c, async (db) => {
        const role = await guard.terminateRole(c, p.role, db);
        const before = await readConnections(db);
        const r = await db.query<{ pid: number; ok: boolean }>(TERMINATE_SQL, [role]);
        const pids = r.rows.filter((x) => x.ok).map((x) => x.pid);
        // a terminated backend leaves pg_stat_activity a moment later: read the usage once they are gone (≤ 2 s)
        for (let end = Date.now() + 2000; pids.length && Date.now() < end; await new Promise((res) => setTimeout(res, 10))) {
          const left = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ANY($1)', [pids]);
          if (!left.rows[0]?.n) break;
        }
        const after = await readConnections(db);
        const command = `psql -h ${c.host} -p ${c.port} -U ${c.user} -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '${role}' AND state LIKE 'idle%'"`;
        return {
          command,
          // connection health % = 100 − usage % of max_connections
          healthBefore: Math.round((100 - before.usagePct) * 10) / 10,
          healthAfter: Math.round((100 - after.usagePct) * 10) / 10,
          result: {
            target: p.target,
            command,
            role,
            terminated: pids.length,
            pids,
            usageBefore: before.usagePct,
            usageAfter: after.usagePct,
          },
          exitCode: 0,
          stdout: `terminated ${pids.length} idle backend(s) of ${role}; usage ${before.usagePct} % → ${after.usagePct} %`,
        };
      });
    },
  });
}

/** `postgres.connections` (a probe): the connection metrics over a fresh client; `connects: false` when it is refused. */
export function postgresConnections(guard: DataServiceGuard) {
  return defineAction({
    ...postgresConnectionsSpec,
    async run(p) {
      const c = guard.postgres(p.target, 'postgres.connections');
      try {
        const m = await withPg(c, readConnections);
        return { result: { target: p.target, healthy: m.usagePct <= c.maxUsage, connects: true, ...m } };
      } catch (e) {
        if (!isTooManyClients(e)) throw e;
        return { result: { target: p.target, healthy: false, connects: false, error: (e as Error).message } };
      }
    },
  });
}
