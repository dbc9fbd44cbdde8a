import pg from 'pg';
import type { Logger } from 'pino';
import { StoreError, StoreQueryError, StoreUnavailableError } from './errors.js';
import { checkSchemaName, type MigrationSession, type SqlClient, type SqlQueryable } from './sql-client.js';

export interface PgClientOptions {
  url: string;
  schema: string;
  log: Logger;
  /** Pool size (default 4). */
  max?: number;
  /** How long to wait for a connection before the write is queued as "database unavailable" (default 2 s). */
  connectTimeoutMs?: number;
  /** A statement without an answer by then fails as "unavailable" (default 10 s). */
  queryTimeoutMs?: number;
  /** `false` sets `synchronous_commit=off`: a commit does not wait for the WAL flush (see OpenStoreOptions.durability). */
  synchronousCommit?: boolean;
}

/** Prints a connection URL without its password. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}

/**
 * SQLSTATE classes that mean "the server is not there right now": connection exceptions (08),
 * insufficient resources (53), operator intervention such as a shutdown (57P) and system errors (58).
 * Errors without a SQLSTATE come from the socket (refused, reset, timed out) and are transient too.
 */
function classify(location: string, e: unknown): StoreError {
  if (e instanceof StoreError) return e;
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !/^(08|53|57P|58)/.test(code)) {
    return new StoreQueryError('PostgreSQL refused the statement', e);
  }
  return new StoreUnavailableError(location, e);
}

/** The `pg` adapter: a small connection pool whose sessions all use the store's schema. */
export class PgClient implements SqlClient {
  readonly kind = 'pg';
  readonly location: string;
  readonly schema: string;
  readonly #pool: pg.Pool;

  constructor(opts: PgClientOptions) {
    this.schema = checkSchemaName(opts.schema);
    this.location = redactUrl(opts.url);
    this.#pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.max ?? 4,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 2000,
      idleTimeoutMillis: 10_000,
      // A server that hangs (not just one that is down) must also turn into "unavailable", not a stuck queue.
      query_timeout: opts.queryTimeoutMs ?? 10_000,
      options: `-c search_path=${this.schema}${opts.synchronousCommit === false ? ' -c synchronous_commit=off' : ''}`,
      application_name: 'homeostat',
    });
    // An idle connection dropped by a stopping server emits 'error' on the pool; without a
    // listener that would end the process. The next query reports the outage instead.
    this.#pool.on('error', (err) => opts.log.warn({ err: err.message, store: this.location }, 'idle PostgreSQL connection lost'));
  }

  async query<R = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<{ rows: R[] }> {
    try {
      const res = await this.#pool.query(text, params);
      return { rows: res.rows as R[] };
    } catch (e) {
      throw classify(this.location, e);
    }
  }

  async transaction<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (e) {
      throw classify(this.location, e);
    }
    let broken = false;
    const tx: SqlQueryable = {
      query: async <R>(text: string, params: unknown[] = []) => {
        try {
          return { rows: (await client.query(text, params)).rows as R[] };
        } catch (e) {
          const err = classify(this.location, e);
          broken ||= err.transient;
          throw err;
        }
      },
    };
    try {
      await tx.query('BEGIN');
      const out = await fn(tx);
      await tx.query('COMMIT');
      return out;
    } catch (e) {
      if (!broken) await client.query('ROLLBACK').catch(() => (broken = true));
      throw classify(this.location, e);
    } finally {
      client.release(broken);
    }
  }

  async withMigrationSession<T>(fn: (session: MigrationSession) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (e) {
      throw classify(this.location, e);
    }
    try {
      return await fn(client);
    } finally {
      client.release(true);
    }
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}
