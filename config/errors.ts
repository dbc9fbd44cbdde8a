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
