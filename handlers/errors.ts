import { HomeostatError } from '../config/index.js';

/** Errors raised by remediators. `refused` errors are safety refusals: the action was not attempted. */
export class HandlerError extends HomeostatError {
  override name = 'HandlerError';
  /** A safety refusal: nothing was attempted. Answered as status `refused`. */
  readonly refused: boolean;
  constructor(code: string, message: string, opts: { cause?: unknown; refused?: boolean; transient?: boolean } = {}) {
    super(code, message, opts);
    this.refused = opts.refused ?? false;
  }
}

export class UnknownActionError extends HandlerError {
  override name = 'UnknownActionError';
  constructor(action: string, known: readonly string[]) {
    super('HANDLER_UNKNOWN_ACTION', `no handler provides "${action}" (provided: ${known.join(', ')})`, { refused: true });
  }
}

export class InvalidParamsError extends HandlerError {
  override name = 'InvalidParamsError';
  constructor(action: string, detail: string) {
    super('HANDLER_INVALID_PARAMS', `invalid parameters for ${action}: ${detail}`, { refused: true });
  }
}

/** A blacklist request that a safety rule forbids; `rule` names the rule. */
export class BlacklistRefusedError extends HandlerError {
  override name = 'BlacklistRefusedError';
  constructor(
    readonly actor: string,
    readonly rule: 'protected-role' | 'known-actor',
    detail: string,
  ) {
    super('HANDLER_BLACKLIST_REFUSED', `refusing to blacklist "${actor}": rule ${rule}: ${detail}`, { refused: true });
  }
}

/** The server did not close the blacklisted actor's connections in time. */
export class BlacklistCutError extends HandlerError {
  override name = 'BlacklistCutError';
  constructor(actor: string, open: number, waitedMs: number) {
    super('HANDLER_BLACKLIST_NOT_CUT', `"${actor}" still has ${open} open connection(s) ${waitedMs} ms after the reload; check the server log`);
  }
}

/** The blacklist file cannot be read; fix or remove it. */
export class BlacklistFileError extends HandlerError {
  override name = 'BlacklistFileError';
  constructor(file: string, detail: string, cause?: unknown) {
    super('HANDLER_BLACKLIST_FILE', `${file}: ${detail} (fix the file, or remove it to start with an empty blacklist)`, { cause });
  }
}

/** The safety rules of scoped process remediation; a refusal names one. */
export const PROCESS_RULES = {
  'pid-1': 'pid 1 (init) is never killed or throttled',
  'homeostat-process': "Homeostat's own processes (itself, its nats-server, its chaos agent) are never killed or throttled",
  'nats-server': 'nats-server is never killed or throttled',
  database: 'the database (PostgreSQL) is never killed or throttled',
  'outside-target': "only processes inside a registered target's process tree may be killed or throttled",
  'protected-target': 'processes of a protected target are never killed',
  'critical-target': 'processes of a critical target are never throttled',
} as const;
export type ProcessRule = keyof typeof PROCESS_RULES;

/** A kill or throttle aimed at a process Homeostat must not touch. Nothing was done. */
export class ProcessRefusedError extends HandlerError {
  override name = 'ProcessRefusedError';
  constructor(
    readonly rule: ProcessRule,
    readonly pid: number,
    op: string,
    detail: string,
  ) {
    super(`HANDLER_REFUSED_${rule.toUpperCase().replaceAll('-', '_')}`, `refused to ${op} pid ${pid}${detail ? ` (${detail})` : ''}: rule "${rule}": ${PROCESS_RULES[rule]}`, { refused: true });
  }
}

/**
 * A refusal by one of a gate's named rules (code `HANDLER_REFUSED_<RULE>`, the message naming the
 * action, what was asked, the rule and why). Nothing was done. One shape for the gates whose
 * refusals are about an action rather than a pid.
 */
abstract class RuleRefusedError<R extends string> extends HandlerError {
  constructor(
    readonly rule: R,
    rules: Readonly<Record<R, string>>,
    action: string,
    detail: string,
  ) {
    super(`HANDLER_REFUSED_${rule.toUpperCase().replaceAll('-', '_')}`, `refused ${action} (${detail}): rule "${rule}": ${rules[rule]}`, { refused: true });
  }
}

/** The safety rules of the data-service actions (redis.*, postgres.*); a refusal names one. */
export const DATA_SERVICE_RULES = {
  'no-endpoint': 'the target must declare a redis (or postgres) check: connection details come from it, never from the event',
  'match-all-pattern': 'a purge pattern matching every key is refused (use redis.flushall, which needs approval)',
  'outside-app-role': "only backends of the target's declared application role (appRole of its postgres check) may be terminated",
  'superuser-role': 'backends of a superuser role are never terminated',
} as const;
export type DataServiceRule = keyof typeof DATA_SERVICE_RULES;

/** A redis.* or postgres.* action that a safety rule forbids. Nothing was done. */
export class DataServiceRefusedError extends RuleRefusedError<DataServiceRule> {
  override name = 'DataServiceRefusedError';
  constructor(rule: DataServiceRule, action: string, detail: string) {
    super(rule, DATA_SERVICE_RULES, action, detail);
  }
}

/** The safety rules of the container actions (container.*, logs.clean, containers.prune); a refusal names one. */
export const CONTAINER_RULES = {
  'not-a-container': 'the target must be a registered target with driver: docker',
  'protected-target': 'a protected target is never killed, restarted or throttled by remediation',
  'no-log-dir': 'logs.clean needs the target to declare its log directory (logDir)',
  'dot-dot': 'a path with a ".." segment is refused',
  'symlink': 'a symbolic link (in the path or as the file) is refused: it could point outside the log directory',
  'outside-log-dir': "only files inside the target's declared log directory may be truncated",
} as const;
export type ContainerRule = keyof typeof CONTAINER_RULES;

/** A container action that a safety rule forbids. Nothing was done. */
export class ContainerRefusedError extends RuleRefusedError<ContainerRule> {
  override name = 'ContainerRefusedError';
  constructor(rule: ContainerRule, action: string, detail: string) {
    super(rule, CONTAINER_RULES, action, detail);
  }
}
