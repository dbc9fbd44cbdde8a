import pg from 'pg';
import { createClient } from 'redis';
import { newId } from '../bus/index.js';
import { pgClientOptions, redisClientOptions, type CheckConfig } from '../targets/index.js';

/**
 * Whether a target's data services serve clients again after a scenario's run: a write to each
 * Redis of its `redis` checks succeeds (a key with a 60 s expiry), and a fresh client of each
 * PostgreSQL of its `postgres` checks connects (as the check's `appRole` when declared, the role
 * the application uses) and answers `SELECT 1`. Scoring code: it only writes its own probe key.
 * Returns one line per failure (empty when everything serves).
 */
export async function dataServicesServe(target: string, checks: readonly CheckConfig[], timeoutMs = 2000): Promise<string[]> {
  const failures: string[] = [];
  for (const c of checks) {
    if (c.kind === 'redis') {
      const r = createClient(redisClientOptions(c, timeoutMs));
      r.on('error', () => undefined);
      try {
        await r.connect();
        const answer = await r.set(`homeostat:stress:${target}:${newId().slice(0, 8)}`, 'probe', { PX: 60_000 });
        if (answer !== 'OK') failures.push(`${target}: redis ${c.host}:${c.port} answered ${String(answer)} to a write`);
      } catch (e) {
        failures.push(`${target}: a write to redis ${c.host}:${c.port} failed: ${(e as Error).message}`);
      } finally {
        await r.disconnect().catch(() => undefined);
      }
    } else if (c.kind === 'postgres') {
      const opts = pgClientOptions(c, timeoutMs);
      const db = new pg.Client(c.appRole && c.appRole !== c.user ? { ...opts, user: c.appRole, password: undefined } : opts);
      db.on('error', () => undefined);
      try {
        await db.connect();
        await db.query('SELECT 1');
      } catch (e) {
        failures.push(`${target}: a fresh client of postgres ${c.host}:${c.port} as ${c.appRole ?? c.user} failed: ${(e as Error).message}`);
      } finally {
        await db.end().catch(() => undefined);
      }
    }
  }
  return failures;
}
