/**
 * The seam between the store and a database: the `pg` adapter (a connection pool to PostgreSQL)
 * and the embedded adapter (PGlite, PostgreSQL compiled to WebAssembly) both speak it, so the
 * same SQL runs against either.
 */
export interface SqlQueryable {
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<{ rows: R[] }>;
}

/**
 * The one-session client node-pg-migrate drives. `query` without parameters may hold several
 * statements (a migration file); the pg adapter hands it a pooled connection as-is.
 */
export interface MigrationSession {
  query(text: string | { text: string; values?: unknown[] }, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

export interface SqlClient extends SqlQueryable {
  readonly kind: 'pg' | 'embedded';
  /** Where the data lives, safe to print: a URL without its password, or a directory. */
  readonly location: string;
  /** The PostgreSQL schema holding Homeostat's tables. */
  readonly schema: string;
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T>;
  /** Runs `fn` with one session for migrations. */
  withMigrationSession<T>(fn: (session: MigrationSession) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;

/** Checks a schema name before it is quoted into SQL. */
export function checkSchemaName(schema: string): string {
  if (!SCHEMA_RE.test(schema)) throw new Error(`schema name "${schema}" must match ${String(SCHEMA_RE)}`);
  return schema;
}
