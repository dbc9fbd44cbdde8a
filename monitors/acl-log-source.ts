import type { Logger } from 'pino';
import { subjects, type AclViolationData, type BusClient } from '../bus/index.js';
import { LogTail, type LogTailCounters, type LogTailOptions } from './log-tail.js';
import { parseNatsLogLine } from './nats-log-line.js';

/** What the log source has read: the tail's counters plus how the lines parsed. */
export interface AclLogSourceCounters extends LogTailCounters {
  violations: number;
  /** Well-formed nats-server lines that are not violations. */
  other: number;
  /** Lines that are not nats-server log lines, or violation lines that could not be read. */
  garbled: number;
}

export interface AclLogSourceOptions extends LogTailOptions {
  /** Publishes every violation on `acl.violation` (default true). */
  publish?: boolean;
  log: Logger;
}

/**
 * The server-side violation source: tails nats-server's log file, turns every
 * `Publish Violation` / `Subscription Violation` line into an `acl.violation` message
 * (`source: nats-log`) and hands it to `onViolation`. Garbled lines are skipped and counted.
 */
export class AclLogSource {
  readonly #tail: LogTail;
  readonly #counts = { violations: 0, other: 0, garbled: 0 };
  #lastGarbledLog = 0;

  constructor(
    private readonly bus: BusClient,
    file: string,
    private readonly onViolation: (v: AclViolationData) => void,
    private readonly opts: AclLogSourceOptions,
  ) {
    this.#tail = new LogTail(file, (line) => this.#line(line), opts);
  }

  get counters(): AclLogSourceCounters {
    return { ...this.#tail.counters, ...this.#counts };
  }

  start(): void {
    this.#tail.start();
  }

  /** Resolves once everything the server has logged so far has been read. */
  drain(): Promise<void> {
    return this.#tail.drain();
  }

  stop(): void {
    this.#tail.stop();
  }

  #line(line: string): void {
    const p = parseNatsLogLine(line);
    if (p.kind === 'other') {
      this.#counts.other++;
      return;
    }
    if (p.kind === 'garbled') {
      this.#counts.garbled++;
      const now = Date.now();
      if (now - this.#lastGarbledLog > 5000) {
        this.#lastGarbledLog = now;
        this.opts.log.warn({ reason: p.reason, line: line.slice(0, 200), garbled: this.#counts.garbled }, 'garbled nats-server log line skipped');
      }
      return;
    }
    this.#counts.violations++;
    const v: AclViolationData = { ...p.violation, source: 'nats-log' };
    if (this.opts.publish ?? true) this.bus.publish(subjects.aclViolation, 'acl.violation', v, { target: v.actor });
    this.onViolation(v);
  }
}
