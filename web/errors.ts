import { HomeostatError } from '../config/index.js';

/** Stable codes of the web server's errors. */
export type WebErrorCode = 'WEB_LISTEN' | 'WEB_TOKEN';

/** An error of the stack's HTTP server (web/); `code` is stable, `message` says what to do. */
export class WebError extends HomeostatError {
  override name = 'WebError';
  declare readonly code: WebErrorCode;
  constructor(code: WebErrorCode, message: string, opts: { cause?: unknown; transient?: boolean } = {}) {
    super(code, message, opts);
  }
}
