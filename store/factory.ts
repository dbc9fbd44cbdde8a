import type { Logger } from 'pino';
import { StoreError, StoreUnreachableError } from './errors.js';
import { migrate } from './migrations.js';
import { PgClient, redactUrl } from './pg-client.js';
import { PgliteClient } from './pglite-client.js';
import type { SqlClient } from './sql-client.js';
import { SqlStore } from './sql-store.js';
import type { Store } from './store.js';

export interface OpenStoreOptions {
  /** PostgreSQL URL (DATABASE_URL). When absent, the embedded store in `storeDir` is used. */
  databaseUrl?: string;
  /** The embedded store's directory (`$HOMEOSTAT_HOME/store`). */
  storeDir: string;
  log: Logger;
  /** Schema holding the tables (default `homeostat`); tests use a unique one each. */
  schema?: string;
  /** Bring the schema up to date on open (default true). */
  migrate?: boolean;
  /** How long to wait for PostgreSQL at start before giving up (default 5 s). */
  connectTimeoutMs?: number;
  /**
   * `full` (default): a write returns once it is on disk. `relaxed`: it returns before the flush
   * (PostgreSQL `synchronous_commit=off`, PGlite `relaxedDurability`) — a crash of the database may
   * lose the last fraction of a second of writes, never corrupt them. The recorder's history uses
   * `relaxed`: its records already wait in memory while the database is away.
   */
  durability?: 'full' | 'relaxed';
}

export const DEFAULT_SCHEMA = 'homeostat';

/**
 * Opens the store chosen by configuration and logs the choice: PostgreSQL when a URL is given,
 * the embedded PGlite store otherwise. A URL that cannot be reached is an error
 * (StoreUnreachableError) — never a silent fallback to the embedded store.
 */
export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  const schema = opts.schema ?? DEFAULT_SCHEMA;
  const log = opts.log.child({ component: 'store' });
  let client: SqlClient;
  if (opts.databaseUrl) {
    const location = redactUrl(opts.databaseUrl);
    log.info({ store: 'pg', location, schema, durability: opts.durability ?? 'full' }, 'store: PostgreSQL from DATABASE_URL');
    client = new PgClient({
      url: opts.databaseUrl, schema, log, connectTimeoutMs: opts.connectTimeoutMs ?? 5000, synchronousCommit: opts.durability !== 'relaxed',
    });
    try {
      await client.query('SELECT 1 AS ok');
    } catch (e) {
      await client.close().catch(() => undefined);
      throw new StoreUnreachableError(location, e instanceof StoreError && e.cause ? e.cause : e);
    }
  } else {
    log.info({ store: 'embedded', location: opts.storeDir, schema, durability: opts.durability ?? 'full' }, 'store: embedded PGlite (DATABASE_URL not set)');
    client = await PgliteClient.open({ dir: opts.storeDir, schema, relaxedDurability: opts.durability === 'relaxed' });
  }
  try {
    if (opts.migrate ?? true) await migrate(client, log);
  } catch (e) {
    await client.close().catch(() => undefined);
    throw e;
  }
  return new SqlStore(client);
}
