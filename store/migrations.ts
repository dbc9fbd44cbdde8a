import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import type { ClientBase } from 'pg';
import type { Logger } from 'pino';
import { StoreError, StoreMigrationError } from './errors.js';
import type { SqlClient } from './sql-client.js';

/** The SQL migration files (`store/migrations/*.sql`), found from the source tree or from dist/. */
export function migrationsDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const beside = join(here, 'migrations');
  return existsSync(beside) ? beside : join(here, '..', '..', 'store', 'migrations');
}

export interface MigrateOptions {
  /** Apply at most this many pending migrations (tests use it to build an older schema). */
  count?: number;
}

/** A per-schema advisory lock id, so stores in different schemas of one database migrate independently. */
function lockValue(schema: string): number {
  let h = 7241865;
  for (const c of schema) h = (Math.imul(h, 31) + c.charCodeAt(0)) | 0;
  return Math.abs(h);
}

/**
 * Brings the store's schema up to date with node-pg-migrate: pending `.sql` files run in order,
 * each in its own transaction, recorded in `<schema>.schema_migrations`; concurrent starters wait
 * on an advisory lock. Returns the names of the migrations applied.
 */
export async function migrate(client: SqlClient, log: Logger, opts: MigrateOptions = {}): Promise<string[]> {
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${client.schema}"`);
    const applied = await client.withMigrationSession((session) =>
      runner({
        dbClient: session as unknown as ClientBase,
        dir: migrationsDir(),
        direction: 'up',
        count: opts.count,
        schema: client.schema,
        migrationsTable: 'schema_migrations',
        checkOrder: true,
        advisoryLockMode: 'wait',
        lockValue: lockValue(client.schema),
        logger: {
          debug: (m: string) => log.debug(m),
          info: (m: string) => log.debug(m),
          warn: (m: string) => log.warn(m),
          error: (m: string) => log.error(m),
        },
      }),
    );
    if (applied.length) log.info({ store: client.location, schema: client.schema, migrations: applied.map((m) => m.name) }, 'store schema migrated');
    return applied.map((m) => m.name);
  } catch (e) {
    if (e instanceof StoreError && e.transient) throw e;
    throw new StoreMigrationError(client.location, e);
  }
}
