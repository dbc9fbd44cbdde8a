import type pg from 'pg';
import type { CheckConfig, PostgresCheck, RedisCheck } from '../targets/index.js';

/** What the guard reads of the targets: their declared checks (the `TargetRegistry`). */
export interface DeclaredChecks {
  get(name: string): { checks: readonly CheckConfig[] };
}
import { DataServiceRefusedError } from './errors.js';

/** A pattern made only of wildcards (`*`, `**`, `?*`…) matches every key. */
const MATCH_ALL = /^[*?]*\*[*?]*$/;

/**
 * The one gate of the data-service actions. Connection details come from the target's declared
 * check (never from the event); a purge pattern that matches every key is refused; only backends
 * of the target's application role, never a superuser's, may be terminated. A refusal throws a
 * `DataServiceRefusedError` naming the rule.
 */
export class DataServiceGuard {
  constructor(private readonly targets: DeclaredChecks) {}

  /** The target's `redis` check (its endpoint). */
  redis(target: string, action: string): RedisCheck {
    const c = this.targets.get(target).checks.find((k) => k.kind === 'redis');
    if (!c) throw new DataServiceRefusedError('no-endpoint', action, `target ${target} declares no redis check`);
    return c;
  }

  /** The target's `postgres` check (its endpoint and application role). */
  postgres(target: string, action: string): PostgresCheck {
    const c = this.targets.get(target).checks.find((k) => k.kind === 'postgres');
    if (!c) throw new DataServiceRefusedError('no-endpoint', action, `target ${target} declares no postgres check`);
    return c;
  }

  /** Clears a purge `pattern`. */
  purgePattern(pattern: string): void {
    if (MATCH_ALL.test(pattern)) throw new DataServiceRefusedError('match-all-pattern', 'redis.purge', `pattern ${JSON.stringify(pattern)}`);
  }

  /**
   * Clears terminating backends of `role` (default: the application role) on `c`'s server: it must
   * be the declared application role and not a superuser (asked of the server with `db`).
   */
  async terminateRole(c: PostgresCheck, role: string | undefined, db: pg.ClientBase): Promise<string> {
    if (!c.appRole) throw new DataServiceRefusedError('outside-app-role', 'postgres.terminate_idle', 'the postgres check declares no appRole');
    if (role !== undefined && role !== c.appRole) throw new DataServiceRefusedError('outside-app-role', 'postgres.terminate_idle', `role ${JSON.stringify(role)} is not the application role ${JSON.stringify(c.appRole)}`);
    const r = await db.query<{ rolsuper: boolean }>('SELECT rolsuper FROM pg_roles WHERE rolname = $1', [c.appRole]);
    if (r.rows[0]?.rolsuper) throw new DataServiceRefusedError('superuser-role', 'postgres.terminate_idle', `role ${JSON.stringify(c.appRole)} is a superuser`);
    return c.appRole;
  }
}
