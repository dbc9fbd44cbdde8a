/** Errors raised by remediators. `refused` errors are safety refusals: the action was not attempted. */
export class HandlerError extends Error {
  override name = 'HandlerError';
  constructor(
    readonly code: string,
    message: string,
    opts: { cause?: unknown; refused?: boolean } = {},
  ) {
    super(message, { cause: opts.cause });
    this.refused = opts.refused ?? false;
  }
  readonly refused: boolean;
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
