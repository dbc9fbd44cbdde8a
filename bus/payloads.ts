import { z } from 'zod';

/** Payload schemas, one per message type. The envelope's `data` is checked against these. */

export const HeartbeatData = z.object({
  seq: z.number().int().nonnegative(),
  intervalMs: z.number().int().positive(),
  pid: z.number().int().positive().optional(),
});
export type HeartbeatData = z.infer<typeof HeartbeatData>;

export const HeartbeatMissedData = z.object({
  target: z.string(),
  lastSeen: z.string().nullable(),
  missedIntervals: z.number().int().nonnegative(),
  intervalMs: z.number().int().positive(),
});
export type HeartbeatMissedData = z.infer<typeof HeartbeatMissedData>;

export const HeartbeatRestoredData = z.object({
  target: z.string(),
  outageMs: z.number().nonnegative(),
});
export type HeartbeatRestoredData = z.infer<typeof HeartbeatRestoredData>;

/** A request to a remediator on `actions.<handler>.<verb>`. */
export const ActionRequestData = z.object({
  actionId: z.string().min(1),
  runId: z.string().optional(),
  action: z.string(),
  target: z.string().optional(),
  params: z.record(z.string(), z.unknown()).default({}),
  timeoutMs: z.number().int().positive().optional(),
});
export type ActionRequestData = z.infer<typeof ActionRequestData>;

export const ActionStatus = z.enum(['ok', 'failed', 'refused']);
export type ActionStatus = z.infer<typeof ActionStatus>;

/** The outcome of one action, published on `results.<actionId>`. */
export const ActionResultData = z.object({
  actionId: z.string(),
  action: z.string(),
  status: ActionStatus,
  durationMs: z.number().nonnegative(),
  result: z.record(z.string(), z.unknown()).default({}),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  exitCode: z.number().int().nullable().optional(),
  stdout: z.string().max(16_384).optional(),
  stderr: z.string().max(16_384).optional(),
});
export type ActionResultData = z.infer<typeof ActionResultData>;

export const RunPhaseData = z.object({
  runId: z.string(),
  playbook: z.string(),
  target: z.string().optional(),
  eventId: z.string().optional(),
  step: z.string().optional(),
  status: z.string().optional(),
  reason: z.string().optional(),
  durationMs: z.number().optional(),
  detail: z.record(z.string(), z.unknown()).optional(),
});
export type RunPhaseData = z.infer<typeof RunPhaseData>;

export const ChaosHeartbeatPauseData = z
  .object({ target: z.string().min(1), seconds: z.number().positive().max(3600) })
  .strict();
export type ChaosHeartbeatPauseData = z.infer<typeof ChaosHeartbeatPauseData>;

export const DeadletterData = z.object({
  subject: z.string(),
  reason: z.string(),
  droppedBy: z.string(),
  raw: z.string(),
});
export type DeadletterData = z.infer<typeof DeadletterData>;

/** `events.store.degraded`: the store stopped answering; records are kept in memory meanwhile. */
export const StoreDegradedData = z.object({
  store: z.enum(['pg', 'embedded']),
  location: z.string(),
  error: z.string(),
  queued: z.number().int().nonnegative(),
  since: z.string(),
});
export type StoreDegradedData = z.infer<typeof StoreDegradedData>;

/** `events.store.recovered`: the store answers again; the kept records are being written. */
export const StoreRecoveredData = z.object({
  store: z.enum(['pg', 'embedded']),
  location: z.string(),
  downMs: z.number().nonnegative(),
  backlog: z.number().int().nonnegative(),
  dropped: z.number().int().nonnegative(),
});
export type StoreRecoveredData = z.infer<typeof StoreRecoveredData>;
