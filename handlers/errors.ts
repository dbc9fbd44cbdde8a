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
