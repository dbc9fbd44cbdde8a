import { z } from 'zod';

/**
 * Payloads of the target families: `events.target.*` (health monitor, driver exit events) and the
 * chaos faults aimed at any target's process (`chaos.process_kill`, `chaos.process_pause`).
 */

/** `events.target.exited`: a target's main process exited without Homeostat stopping it (pushed from the driver's exit event). */
export const TargetExitedData = z.object({
  target: z.string(),
  /** The exited process; null when the program could not be started at all (see `error`). */
  pid: z.number().int().positive().nullable(),
  code: z.number().int().nullable(),
  signal: z.string().nullable(),
  /** Time from the start to the exit (0 when it never started). */
  uptimeMs: z.number().nonnegative(),
  /** Restarts of this target since the stack started. */
  restarts: z.number().int().nonnegative(),
  /** Why the program could not be started (spawn error), when it could not. */
  error: z.string().optional(),
  /** Docker targets: the root cause read from the container's last logs (disk_full, config_error, data_corruption, oom_killed, unknown). */
  rootCause: z.enum(['disk_full', 'config_error', 'data_corruption', 'oom_killed', 'unknown']).optional(),
  /** Docker targets: `confirmed` (OOMKilled or an `oom` event) or `suspected` (exit 137 alone). */
  oom: z.enum(['confirmed', 'suspected']).optional(),
});
export type TargetExitedData = z.infer<typeof TargetExitedData>;

/** `events.target.unhealthy`: one of a running target's declared checks failed `failures` times in a row (once per outage). */
export const TargetUnhealthyData = z.object({
  target: z.string(),
  /** The check's name (its kind unless the file names it), e.g. `http`. */
  check: z.string(),
  kind: z.string(),
  reason: z.string(),
  /** Latency of the last failing attempt (its timeout when it hung). */
  latencyMs: z.number().nonnegative(),
  /** Consecutive failures counted. */
  failures: z.number().int().positive(),
});
export type TargetUnhealthyData = z.infer<typeof TargetUnhealthyData>;

/** `events.target.recovered`: the check that made the target unhealthy passed `successes` times in a row again. */
export const TargetRecoveredData = z.object({
  target: z.string(),
  check: z.string(),
  kind: z.string(),
  /** Unhealthy → recovered. */
  outageMs: z.number().nonnegative(),
  latencyMs: z.number().nonnegative(),
});
export type TargetRecoveredData = z.infer<typeof TargetRecoveredData>;

/**
 * `events.target.rapid_check`: after a fix (a run on the target resolved) its declared checks run
 * every `everyMs` for `forMs` (the OpsGuard rapid-check mode); `started` when it begins, `ended`
 * with what it saw. A check already faster keeps its own interval.
 */
export const TargetRapidCheckData = z.object({
  target: z.string(),
  phase: z.enum(['started', 'ended']),
  everyMs: z.number().int().positive(),
  forMs: z.number().int().positive(),
  /** The resolved run that started it. */
  runId: z.string().nullable(),
  playbook: z.string().nullable(),
  /** `ended`: check attempts made during the mode, and how many failed. */
  attempts: z.number().int().nonnegative(),
  failures: z.number().int().nonnegative(),
});
export type TargetRapidCheckData = z.infer<typeof TargetRapidCheckData>;

const Signal = z.string().regex(/^SIG[A-Z0-9]+$/, 'a signal name such as SIGKILL');

/** `chaos.process_kill`: send `signal` to the target's main process. */
export const ChaosProcessKillData = z
  .object({ target: z.string().min(1), signal: Signal.default('SIGKILL') })
  .strict();
export type ChaosProcessKillData = z.infer<typeof ChaosProcessKillData>;

/** `chaos.process_pause`: SIGSTOP the target's process group for `seconds` (a hang), then SIGCONT. */
export const ChaosProcessPauseData = z
  .object({ target: z.string().min(1), seconds: z.number().positive().max(3600) })
  .strict();
export type ChaosProcessPauseData = z.infer<typeof ChaosProcessPauseData>;
