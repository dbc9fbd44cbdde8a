import { HomeostatError } from '../config/index.js';

/** Errors raised by targets and their drivers. */
export class TargetError extends HomeostatError {
  override name = 'TargetError';
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
