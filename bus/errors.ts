import { HomeostatError } from '../config/index.js';

/** Errors raised by the bus layer. Each has a stable `code` and says what to do. */
export class BusError extends HomeostatError {
  override name = 'BusError';
}

export class InvalidSubjectTokenError extends BusError {
  override name = 'InvalidSubjectTokenError';
  constructor(token: string, what: string) {
    super(
      'BUS_INVALID_TOKEN',
      `${what} "${token}" cannot be used in a subject: use letters, digits, "_" or "-" only (no ".", "*", ">" or spaces)`,
    );
  }
}

export class NatsServerMissingError extends BusError {
  override name = 'NatsServerMissingError';
  constructor(cause?: unknown) {
    super(
      'BUS_NATS_SERVER_MISSING',
      'nats-server was not found on PATH. Install it (Debian/Ubuntu: `apt-get install nats-server`; or download it from https://github.com/nats-io/nats-server/releases) or set NATS_URL to an existing server.',
      { cause },
    );
  }
}

export class NatsServerStartError extends BusError {
  override name = 'NatsServerStartError';
  constructor(message: string, cause?: unknown) {
    super('BUS_NATS_SERVER_START', message, { cause, transient: true });
  }
}

export class RequestTimeoutError extends BusError {
  override name = 'RequestTimeoutError';
  constructor(subject: string, timeoutMs: number) {
    super('BUS_REQUEST_TIMEOUT', `no answer on ${subject} within ${timeoutMs} ms`, { transient: true });
  }
}

/** Nobody subscribes to a request's subject (NATS answered "no responders" at once). */
export class NoRespondersError extends BusError {
  override name = 'NoRespondersError';
  constructor(subject: string) {
    super('BUS_NO_RESPONDERS', `nobody answers on ${subject}: start the component that serves it`);
  }
}

export class AclPolicyError extends BusError {
  override name = 'AclPolicyError';
  constructor(file: string, message: string) {
    super('BUS_ACL_POLICY', `${file}: ${message}`);
  }
}

/** The durable bus (JetStream) refused or did not answer: stream, consumer or publish acknowledgement. */
export class DurableBusError extends BusError {
  override name = 'DurableBusError';
  constructor(code: string, message: string, cause?: unknown, transient = false) {
    super(code, message, { cause, transient });
  }
}
