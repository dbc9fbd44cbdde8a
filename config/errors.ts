/**
 * The base of every Homeostat error: a stable `code` to match on, the `cause`, and whether
 * retrying can help (`transient`) carried in the type rather than in message text. Each folder's
 * errors.ts derives its own base from it.
 */
export class HomeostatError extends Error {
  override name = 'HomeostatError';
  readonly code: string;
  /** A transient error may succeed when retried; a permanent one will not. */
  readonly transient: boolean;
  constructor(code: string, message: string, opts: { cause?: unknown; transient?: boolean } = {}) {
    super(message, { cause: opts.cause });
    this.code = code;
    this.transient = opts.transient ?? false;
  }
}

/** One problem in a configuration file, located by line and column. */
export interface FileProblem {
  file: string;
  line: number;
  col: number;
  field: string;
  message: string;
}

export function formatProblem(p: FileProblem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.field ? `${p.field}: ` : ''}${p.message}`;
}

/** A configuration file was refused. `problems` lists every problem as `file:line:col: field: message`. */
export class ConfigFileError extends Error {
  override name = 'ConfigFileError';
  readonly code = 'CONFIG_FILE_INVALID';
  constructor(
    readonly file: string,
    readonly problems: FileProblem[],
    opts: { cause?: unknown } = {},
  ) {
    super(`${file} was refused:\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`, opts);
  }
}

export class SettingsError extends Error {
  override name = 'SettingsError';
  readonly code = 'SETTINGS_INVALID';
}
