import { z } from 'zod';

/** Payloads of `events.docker.*` (the engine) and `events.container.*` (the container failure catalogue). */

/** `events.docker.unreachable`: a docker target's engine went away (its events stream ended and it does not answer). */
export const DockerUnreachableData = z.object({
  target: z.string(),
  /** Why, with the socket, e.g. `/var/run/docker.sock: connect ENOENT`. */
  error: z.string(),
});
export type DockerUnreachableData = z.infer<typeof DockerUnreachableData>;

/** `events.docker.reachable`: the engine answers again and the watch resumed (the container was re-read). */
export const DockerReachableData = z.object({ target: z.string() });
export type DockerReachableData = z.infer<typeof DockerReachableData>;

/** What a container's death is put down to, from its exit and its last log lines. */
export const ROOT_CAUSES = ['disk_full', 'config_error', 'data_corruption', 'oom_killed', 'unknown'] as const;
export type RootCause = (typeof ROOT_CAUSES)[number];

/** `events.container.crashed` and `events.container.oom_killed`: a container died unexpectedly. */
export const ContainerCrashedData = z.object({
  target: z.string(),
  container: z.string(),
  exitCode: z.number().int().nullable(),
  /** `oom_killed` also gets its own event kind. */
  rootCause: z.enum(ROOT_CAUSES),
  /** OOM: `confirmed` (OOMKilled or an `oom` event) or `suspected` (exit 137 alone). */
  oom: z.enum(['confirmed', 'suspected']).nullable(),
  /** The log line the root cause was read from (bounded), when one matched. */
  evidence: z.string().nullable(),
  /** Disk use of the target's log directory at the death (when it declares one). */
  diskUsedPct: z.number().nullable(),
});
export type ContainerCrashedData = z.infer<typeof ContainerCrashedData>;

/** `events.container.zombie_outbreak`: more than `threshold` exited containers carry Homeostat's label. */
export const ZombieOutbreakData = z.object({
  target: z.string(),
  exited: z.number().int().nonnegative(),
  threshold: z.number().int().nonnegative(),
  containers: z.array(z.string()).max(50),
});
export type ZombieOutbreakData = z.infer<typeof ZombieOutbreakData>;

/** `events.container.log_saturation`: the filesystem of a target's declared log directory is fuller than the threshold. */
export const LogSaturationData = z.object({
  target: z.string(),
  logDir: z.string(),
  usedPct: z.number(),
  thresholdPct: z.number(),
  /** Bytes the log directory itself holds. */
  logBytes: z.number().int().nonnegative(),
});
export type LogSaturationData = z.infer<typeof LogSaturationData>;

/** `chaos.container_oom`: switch on the demo app's memory leak (it creates `/tmp/leak` inside the container) so it exceeds its memory limit. */
export const ChaosContainerOomData = z.object({ target: z.string().min(1) }).strict();
export type ChaosContainerOomData = z.infer<typeof ChaosContainerOomData>;

/** `chaos.container_zombies`: start `count` short-lived containers carrying Homeostat's label from the target's image; they exit at once. */
export const ChaosContainerZombiesData = z.object({ target: z.string().min(1), count: z.number().int().min(1).max(50).default(15) }).strict();
export type ChaosContainerZombiesData = z.infer<typeof ChaosContainerZombiesData>;

/** `chaos.container_config_corrupt`: append a broken line to the target's config file inside the container, then kill it with SIGTERM's exit (it dies on start-up reading it). */
export const ChaosContainerConfigData = z.object({ target: z.string().min(1), file: z.string().regex(/^\/[A-Za-z0-9_./-]+$/).default('/data/db.conf') }).strict();
export type ChaosContainerConfigData = z.infer<typeof ChaosContainerConfigData>;

/** `chaos.container_kill`: send `signal` to the container's main process (docker kill). */
export const ChaosContainerKillData = z.object({ target: z.string().min(1), signal: z.string().regex(/^SIG[A-Z0-9]+$/, 'a signal name such as SIGKILL').default('SIGKILL') }).strict();
export type ChaosContainerKillData = z.infer<typeof ChaosContainerKillData>;

const ContainerFile = z.string().regex(/^\/[A-Za-z0-9_./-]+$/, 'an absolute path inside the container').refine((f) => !f.split('/').includes('..'), 'no `..` segment');

/** `chaos.container_log_fill`: write `bytes` to a log file inside the container (its declared log directory on the host fills: log saturation). */
export const ChaosContainerLogFillData = z.object({ target: z.string().min(1), file: ContainerFile, bytes: z.number().int().positive().max(1024 ** 3) }).strict();
export type ChaosContainerLogFillData = z.infer<typeof ChaosContainerLogFillData>;

/** `chaos.container_volume_flood`: write non-log data to `file` inside the container until its filesystem is full (No space left). */
export const ChaosContainerVolumeFloodData = z.object({ target: z.string().min(1), file: ContainerFile }).strict();
export type ChaosContainerVolumeFloodData = z.infer<typeof ChaosContainerVolumeFloodData>;

/** `chaos.container_disk_chain`: the chain reaction — write `bytes` to a log file inside the container, then stop it (`signal` to its main process). */
export const ChaosContainerDiskChainData = z
  .object({
    target: z.string().min(1),
    file: ContainerFile,
    bytes: z.number().int().positive().max(1024 ** 3),
    signal: z.string().regex(/^SIG[A-Z0-9]+$/, 'a signal name such as SIGTERM').default('SIGTERM'),
  })
  .strict();
export type ChaosContainerDiskChainData = z.infer<typeof ChaosContainerDiskChainData>;

/** `chaos.container_data_corrupt`: overwrite the first `bytes` of a data file inside the container with random bytes. */
export const ChaosContainerDataCorruptData = z.object({ target: z.string().min(1), file: ContainerFile, bytes: z.number().int().positive().max(65_536).default(512) }).strict();
export type ChaosContainerDataCorruptData = z.infer<typeof ChaosContainerDataCorruptData>;
