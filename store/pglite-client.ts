import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { StoreLockedError, StoreQueryError } from './errors.js';
import { checkSchemaName, type MigrationSession, type SqlClient, type SqlQueryable } from './sql-client.js';

export interface PgliteClientOptions {
  /** The store directory; the database lives in `<dir>/pgdata`, the owner's pid in `<dir>/owner.pid`. */
  dir: string;
  schema: string;
  /** Return before PGlite has flushed its files to disk (see OpenStoreOptions.durability). */
  relaxedDurability?: boolean;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Claims the directory for this process, or throws StoreLockedError naming the live owner. */
function claim(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, 'owner.pid');
  let owner = NaN;
  try {
    owner = Number(readFileSync(file, 'utf8').trim());
  } catch {
    /* no owner yet */
  }
  if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) throw new StoreLockedError(dir, owner);
  writeFileSync(file, `${process.pid}\n`, { mode: 0o600 });
  return file;
}

async function run<R>(q: PGlite | Transaction, text: string, params: unknown[]): Promise<{ rows: R[] }> {
  try {
    if (params.length) return { rows: (await q.query<R>(text, params)).rows };
    const results = await q.exec(text);
    return { rows: (results[results.length - 1]?.rows ?? []) as R[] };
  } catch (e) {
    throw new StoreQueryError('the embedded store refused the statement', e);
  }
}

/**
 * The embedded adapter: PGlite in-process, data under the runtime directory. One process at a
 * time (claimed with `owner.pid`); use DATABASE_URL for several processes sharing the store.
 */
export class PgliteClient implements SqlClient {
  readonly kind = 'embedded';
  readonly location: string;
  readonly schema: string;
  readonly #db: PGlite;
  readonly #ownerFile: string;

  private constructor(db: PGlite, dir: string, schema: string, ownerFile: string) {
    this.#db = db;
    this.location = join(dir, 'pgdata');
    this.schema = schema;
    this.#ownerFile = ownerFile;
  }

  static async open(opts: PgliteClientOptions): Promise<PgliteClient> {
    const schema = checkSchemaName(opts.schema);
    const ownerFile = claim(opts.dir);
    try {
      const db = await PGlite.create(join(opts.dir, 'pgdata'), { relaxedDurability: opts.relaxedDurability ?? false });
      await db.exec(`CREATE SCHEMA IF NOT EXISTS "${schema}"; SET search_path TO "${schema}"`);
      return new PgliteClient(db, opts.dir, schema, ownerFile);
    } catch (e) {
      rmSync(ownerFile, { force: true });
      throw e;
    }
  }

  query<R = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<{ rows: R[] }> {
    return run<R>(this.#db, text, params);
  }

  transaction<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T> {
    return this.#db.transaction((tx) => fn({ query: (text, params = []) => run(tx, text, params) }));
  }

  async withMigrationSession<T>(fn: (session: MigrationSession) => Promise<T>): Promise<T> {
    const session: MigrationSession = {
      query: (text, values) => {
        const t = typeof text === 'string' ? { text, values } : { text: text.text, values: text.values ?? values };
        return run(this.#db, t.text, t.values ?? []);
      },
    };
    return fn(session);
  }

  async close(): Promise<void> {
    if (!this.#db.closed) await this.#db.close();
    rmSync(this.#ownerFile, { force: true });
  }
}
