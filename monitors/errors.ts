import { HomeostatError } from '../config/index.js';

/** Errors raised by monitors. */
export class MonitorError extends HomeostatError {
  override name = 'MonitorError';
}
