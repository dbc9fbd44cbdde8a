/** Errors raised by targets and their drivers. */
export class TargetError extends Error {
  override name = 'TargetError';
  constructor(
    readonly code: string,
    message: string,
    opts: { cause?: unknown } = {},
  ) {
    super(message, opts);
  }
}

export class UnknownTargetError extends TargetError {
  override name = 'UnknownTargetError';
  constructor(target: string, known: readonly string[]) {
    super('TARGET_UNKNOWN', `no registered target "${target}" (registered: ${known.join(', ') || 'none'})`);
  }
}

export class TargetNotRunningError extends TargetError {
  override name = 'TargetNotRunningError';
  constructor(target: string) {
    super('TARGET_NOT_RUNNING', `target "${target}" is not running`);
  }
}

/** A kill/throttle/signal aimed at a process that Homeostat must never touch. */
export class ProtectedProcessError extends TargetError {
  override name = 'ProtectedProcessError';
  constructor(pid: number, rule: string) {
    super('TARGET_PROTECTED_PROCESS', `refused to touch pid ${pid}: ${rule}`);
  }
}
