import { z } from 'zod';
import type { CheckKind, CheckPlan, ProbeContext, ProbeOutcome } from './checks/check-kind.js';
import { execCheck } from './checks/exec-check.js';
import { heartbeatCheck } from './checks/heartbeat-check.js';
import { httpCheck } from './checks/http-check.js';
import { postgresCheck } from './checks/postgres-check.js';
import { redisCheck } from './checks/redis-check.js';
import { tcpCheck } from './checks/tcp-check.js';

/**
 * The check kinds a target may declare under `checks:`. A new kind (`redis`, `postgres`) is one
 * file in `checks/` exporting a `defineCheckKind(...)`, plus its line here and in `CheckSchema`.
 */
export const CHECK_KINDS = {
  heartbeat: heartbeatCheck,
  http: httpCheck,
  tcp: tcpCheck,
  exec: execCheck,
  redis: redisCheck,
  postgres: postgresCheck,
} as const;

/** One entry of a target's `checks:`, validated by its kind's branch. */
export const CheckSchema = z.discriminatedUnion('kind', [heartbeatCheck.schema, httpCheck.schema, tcpCheck.schema, execCheck.schema, redisCheck.schema, postgresCheck.schema]);
type ParsedCheck = z.infer<typeof CheckSchema>;
/** A check as loaded with its target: a `redis` or `postgres` check's port resolved (its own, else the target's). */
export type CheckConfig = ParsedCheck extends infer C ? (C extends { kind: 'redis' | 'postgres' } ? C & { port: number } : C) : never;

/**
 * `checks` with each data-service check's port resolved: its own `port`, else the target's
 * (a container on the host network listens on the target's port). The target schemas run it at load.
 */
export function resolveCheckPorts(checks: readonly ParsedCheck[], targetPort: number | 'auto' | undefined): CheckConfig[] {
  return checks.map((c) => ((c.kind === 'redis' || c.kind === 'postgres') && c.port === undefined ? { ...c, port: targetPort as number } : c) as CheckConfig);
}

/** Parses one check outside a targets file (tests, benchmarks): a data-service check must then give its `port`. */
export function parseCheck(input: unknown): CheckConfig {
  const c = CheckSchema.parse(input);
  if ((c.kind === 'redis' || c.kind === 'postgres') && c.port === undefined) throw new Error(`a ${c.kind} check parsed alone needs a \`port\``);
  return resolveCheckPorts([c], undefined)[0]!;
}
export type CheckKindName = keyof typeof CHECK_KINDS;

function kindOf(c: CheckConfig): CheckKind {
  return CHECK_KINDS[c.kind];
}

/** The check's name: its `name`, or its kind. */
export function checkName(c: { name?: string; kind: string }): string {
  return c.name ?? c.kind;
}

export function checkPlan(c: CheckConfig): CheckPlan {
  return kindOf(c).plan(c);
}

/** Ms until the next attempt of `c` after an attempt that gave `last` (its kind's `nextAttemptMs`, else the interval). */
export function nextAttemptMs(c: CheckConfig, last: { ok: boolean; reason: string }, ctx: Pick<ProbeContext, 'heartbeatAgeMs'>): number {
  return kindOf(c).nextAttemptMs?.(c, last, ctx) ?? kindOf(c).plan(c).everyMs;
}

/** The outcome of one attempt of a check. */
export interface CheckAttempt {
  name: string;
  kind: string;
  ok: boolean;
  reason: string;
  latencyMs: number;
  /** What the probe measured, when its kind reports metrics (redis, postgres). */
  metrics?: Record<string, unknown>;
  unreachable?: boolean;
}

/** The events `c`'s kind publishes instead of `events.target.unhealthy`, if any. */
export function checkEvents(c: CheckConfig): CheckKind['events'] {
  return kindOf(c).events;
}

/**
 * Runs one attempt of `check`. An attempt still running at the timeout is abandoned (its I/O
 * aborted) and counts as a failure; a probe that throws fails with the error's message.
 */
export async function runCheck(check: CheckConfig, ctx: Omit<ProbeContext, 'signal' | 'timeoutMs'>): Promise<CheckAttempt> {
  const kind = kindOf(check);
  const { timeoutMs } = kind.plan(check);
  const t0 = performance.now();
  if (kind.instant) {
    const out = await kind.probe(check, { ...ctx, signal: NEVER_ABORTED, timeoutMs });
    return { name: checkName(check), kind: check.kind, ok: out.ok, reason: out.reason, latencyMs: Math.round((performance.now() - t0) * 10) / 10 };
  }
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<{ ok: false; reason: string }>((resolve) => {
    timer = setTimeout(() => {
      ac.abort();
      resolve({ ok: false, reason: `no answer within ${timeoutMs} ms` });
    }, timeoutMs);
  });
  const attempt = kind
    .probe(check, { ...ctx, signal: ac.signal, timeoutMs })
    .catch((e: unknown) => ({ ok: false, reason: describeError(e) }));
  try {
    const out: ProbeOutcome = await Promise.race([attempt, timedOut]);
    return {
      name: checkName(check),
      kind: check.kind,
      ok: out.ok,
      reason: out.reason,
      latencyMs: Math.round((performance.now() - t0) * 10) / 10,
      ...(out.metrics ? { metrics: out.metrics } : {}),
      ...(out.unreachable ? { unreachable: true } : {}),
    };
  } finally {
    clearTimeout(timer);
  }
}

const NEVER_ABORTED = new AbortController().signal;

function describeError(e: unknown): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (err?.name === 'AbortError' || err?.name === 'TimeoutError') return 'aborted at the timeout';
  const cause = err?.cause?.code ?? err?.cause?.message;
  return cause ? `${err.message}: ${cause}` : String(err?.message ?? e);
}
