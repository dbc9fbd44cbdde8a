/** Errors raised by monitors. */
export class MonitorError extends Error {
  override name = 'MonitorError';
  constructor(
    readonly code: string,
    message: string,
    opts: { cause?: unknown } = {},
  ) {
    super(message, opts);
  }
}
