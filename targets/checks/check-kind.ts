import { z } from 'zod';
import { Duration } from '../../config/index.js';
import type { TargetDriver } from '../driver.js';

/** What a probe may use: the target's driver, its port, the tracked heartbeat age, and an abort signal fired at the timeout. */
export interface ProbeContext {
  target: string;
  driver: TargetDriver;
  /** The target's TCP port when it has one (the demo worker's chosen port, or `port:` of the file). */
  port?: number;
  /** Milliseconds since the target's last heartbeat (null: none seen). */
  heartbeatAgeMs(): number | null;
  /** Aborted when the check's timeout passes: a probe stops its I/O then. */
  signal: AbortSignal;
  timeoutMs: number;
}

export interface ProbeOutcome {
  ok: boolean;
  /** What was seen: "200 OK", "connect ECONNREFUSED", "exit 1: …". */
  reason: string;
  /** A snapshot of what the probe measured (Redis memory, PostgreSQL connections), carried by the kind's event. */
  metrics?: Record<string, unknown>;
  /** The server could not be asked at all (down, refused auth, answered garbage), as opposed to answering badly. */
  unreachable?: boolean;
}

/**
 * The events a check kind publishes instead of `events.target.unhealthy`, each as
 * `<family>.<kind>` of `events.<family>.<kind>` (catalogued in bus/event-catalogue.ts).
 */
export interface CheckKindEvents {
  /** The server answered and the answer is bad, e.g. `redis.memory_pressure`. */
  failure: string;
  /** The server could not be asked, e.g. `redis.unreachable`. */
  unreachable: string;
}

/** How the health monitor runs one declared check. */
export interface CheckPlan {
  /** Time between the starts of two attempts. */
  everyMs: number;
  timeoutMs: number;
  /** Consecutive failures that make the target unhealthy. */
  failures: number;
  /** Consecutive passes that make it recovered. */
  successes: number;
  /** After every (re)start, failures are not counted for this long (the first pass ends it early). */
  startGraceMs: number;
}

/** A check kind: its schema branch (keyed by `kind`), how it is scheduled, and its probe. */
export interface CheckKind<S extends z.ZodObject = z.ZodObject> {
  kind: string;
  schema: S;
  /** Publish these (with the probe's `metrics`) when the check opens an outage, instead of `events.target.unhealthy`. */
  events?: CheckKindEvents;
  /** The probe only reads memory (never waits): it runs without the timeout machinery. */
  instant?: boolean;
  plan(check: z.infer<S>): CheckPlan;
  /**
   * When the next attempt can first tell something new, in ms (default: the plan's `everyMs`).
   * The heartbeat kind waits until the last beat could have gone stale instead of polling.
   */
  nextAttemptMs?(check: z.infer<S>, last: ProbeOutcome, ctx: Pick<ProbeContext, 'heartbeatAgeMs'>): number;
  probe(check: z.infer<S>, ctx: ProbeContext): Promise<ProbeOutcome>;
}

/** Declares a check kind with its types tied together. */
export function defineCheckKind<S extends z.ZodObject>(k: CheckKind<S>): CheckKind<S> {
  return k;
}

export const DEFAULT_FAILURES = 3;
export const DEFAULT_SUCCESSES = 1;
export const DEFAULT_INTERVAL_MS = 1000;

/** The fields every polled check kind shares (all but `heartbeat`). */
export function pollFields(startGraceMs: number) {
  return {
    name: z.string().regex(/^[A-Za-z0-9_.-]+$/).optional().describe('Unique per target; defaults to the kind.'),
    interval: Duration.refine((v) => v >= 50, 'interval must be at least 50ms').default(DEFAULT_INTERVAL_MS).describe('Time between attempts (default 1s, minimum 50ms).'),
    timeout: Duration.refine((v) => v >= 1, 'timeout must be at least 1ms').optional().describe('An attempt still running after this long is abandoned and counts as a failure (default: the interval, at most 1s).'),
    failures: z.number().int().min(1).max(100).default(DEFAULT_FAILURES).describe('Consecutive failures that make the target unhealthy (default 3).'),
    successes: z.number().int().min(1).max(100).default(DEFAULT_SUCCESSES).describe('Consecutive passes that make it recovered (default 1).'),
    startGrace: Duration.default(startGraceMs).describe('After every (re)start, failures are not counted for this long; the first pass ends it early.'),
  };
}

/** The plan of a check that has the poll fields. */
export function pollPlan(c: { interval: number; timeout?: number; failures: number; successes: number; startGrace: number }): CheckPlan {
  return {
    everyMs: c.interval,
    timeoutMs: c.timeout ?? Math.min(c.interval, 1000),
    failures: c.failures,
    successes: c.successes,
    startGraceMs: c.startGrace,
  };
}
