import { z } from 'zod';

/** Payloads of the resource pressure monitor and the CPU-spike fault (issue 4). */

export const ResourceKind = z.enum(['cpu', 'memory', 'disk']);
export type ResourceKind = z.infer<typeof ResourceKind>;

/** One process in a pressure event's top list. `cpuPct` is % of one core (as `top` shows it). */
export const TopProcess = z.object({
  pid: z.number().int().positive(),
  ppid: z.number().int().nonnegative(),
  command: z.string(),
  cpuPct: z.number().nonnegative().nullable(),
  memBytes: z.number().int().nonnegative(),
  memPct: z.number().nonnegative(),
  /** The registered target whose process tree holds this process, or null. */
  target: z.string().nullable(),
  startTime: z.number().int().nonnegative(),
});
export type TopProcess = z.infer<typeof TopProcess>;

/** `events.resource.{cpu,memory,disk}_pressure`: a value stayed above its threshold for the window. Once per episode. */
export const ResourcePressureData = z.object({
  resource: ResourceKind,
  /** Machine-wide percentage (CPU: of all cores) in the sample that completed the window. */
  valuePct: z.number(),
  thresholdPct: z.number(),
  windowMs: z.number().nonnegative(),
  /** How long the value has been above the threshold (≥ windowMs). */
  heldMs: z.number().nonnegative(),
  since: z.string(),
  /** Disk only: the mount path. */
  path: z.string().optional(),
  /** Owner of the hottest process in `top` that belongs to a registered target, or null. */
  target: z.string().nullable(),
  top: z.array(TopProcess),
});
export type ResourcePressureData = z.infer<typeof ResourcePressureData>;

/** `events.resource.recovered`: the value fell back under its recovery threshold; ends the episode. */
export const ResourceRecoveredData = z.object({
  resource: ResourceKind,
  valuePct: z.number(),
  recoveryPct: z.number(),
  path: z.string().optional(),
  /** From the pressure event to recovery. */
  episodeMs: z.number().nonnegative(),
  target: z.string().nullable(),
});
export type ResourceRecoveredData = z.infer<typeof ResourceRecoveredData>;

/** `chaos.cpu_spike`: make a target burn CPU in `workers` busy child processes for `seconds`. */
export const ChaosCpuSpikeData = z
  .object({
    target: z.string().min(1),
    workers: z.number().int().min(1).max(64),
    seconds: z.number().positive().max(3600),
  })
  .strict();
export type ChaosCpuSpikeData = z.infer<typeof ChaosCpuSpikeData>;

/** `target.<name>.chaos.cpu_spike` (chaos agent → the target itself): same body minus the target. */
export const TargetCpuSpikeData = ChaosCpuSpikeData.omit({ target: true });
export type TargetCpuSpikeData = z.infer<typeof TargetCpuSpikeData>;

/** The target's reply to `target.<name>.chaos.cpu_spike`: the pids of the busy children it started. */
export const TargetCpuSpikeReply = z.object({ pids: z.array(z.number().int().positive()) });
export type TargetCpuSpikeReply = z.infer<typeof TargetCpuSpikeReply>;
