/** Stable codes of the stack's errors (the composition root and its guard of `$HOMEOSTAT_HOME`). */
export type StackErrorCode = 'STACK_HOME_LOCKED' | 'STACK_LOCK_IO' | 'STACK_IDENTITY_TAKEN';

/** An error of the composition root; `code` is stable, `message` says what to do. */
export class StackError extends Error {
  override name = 'StackError';
  constructor(
    readonly code: StackErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Another live `homeostat up` holds the home's lock. Permanent until that process stops. */
export class HomeLockedError extends StackError {
  override name = 'HomeLockedError';
  constructor(
    readonly home: string,
    readonly pid: number,
  ) {
    super('STACK_HOME_LOCKED', `another homeostat up (pid ${pid}) is running on ${home}: stop it first (kill ${pid}), or set HOMEOSTAT_HOME to another directory`);
  }
}
