import { HomeostatError } from '../config/index.js';

/** Errors raised by the store. Each has a stable `code`; `transient` says whether retrying can help. */
export class StoreError extends HomeostatError {
  override name = 'StoreError';
}

/** The database named by DATABASE_URL could not be reached when Homeostat started. */
export class StoreUnreachableError extends StoreError {
  override name = 'StoreUnreachableError';
  constructor(location: string, cause: unknown) {
    super(
      'STORE_UNREACHABLE',
      `cannot reach PostgreSQL at ${location} (DATABASE_URL): ${describeCause(cause)}. ` +
        'Start the database or fix DATABASE_URL; unset DATABASE_URL to use the embedded store instead ' +
        '(Homeostat never falls back to it by itself).',
      { cause, transient: true },
    );
  }
}

/** The database went away while Homeostat was running (connection refused, reset, server shutting down). */
export class StoreUnavailableError extends StoreError {
  override name = 'StoreUnavailableError';
  constructor(location: string, cause: unknown) {
    super('STORE_UNAVAILABLE', `the store at ${location} is unavailable: ${describeCause(cause)}`, { cause, transient: true });
  }
}

/** A statement was refused by the database (constraint, type, syntax): retrying the same write will not help. */
export class StoreQueryError extends StoreError {
  override name = 'StoreQueryError';
  constructor(message: string, cause: unknown) {
    super('STORE_QUERY', `${message}: ${describeCause(cause)}`, { cause });
  }
}

/** Migrating the schema failed; the database is left at the last migration that succeeded. */
export class StoreMigrationError extends StoreError {
  override name = 'StoreMigrationError';
  constructor(location: string, cause: unknown) {
    super('STORE_MIGRATION', `migrating the store at ${location} failed: ${describeCause(cause)}`, { cause });
  }
}

/** The embedded store's data directory is held by another live process. */
export class StoreLockedError extends StoreError {
  override name = 'StoreLockedError';
  constructor(dir: string, pid: number) {
    super(
      'STORE_LOCKED',
      `the embedded store in ${dir} is in use by process ${pid} (a running \`homeostat up\`?). ` +
        'The embedded store serves one process at a time: stop that process, or set DATABASE_URL so several processes can share PostgreSQL.',
      { transient: true },
    );
  }
}

function describeCause(cause: unknown): string {
  if (cause instanceof AggregateError && cause.errors.length) return describeCause(cause.errors[0]);
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === 'string' && !cause.message.includes(code) ? `${cause.message} (${code})` : cause.message || cause.name;
  }
  return String(cause);
}
