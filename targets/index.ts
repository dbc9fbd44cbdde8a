/** Targets: the registry (`targets.yaml`), drivers, the demo worker and the chaos agent. */
export { loadTargets, TargetsFileSchema, targetsJsonSchemaText, HOMEOSTAT_LABEL, type TargetConfig, type ProcessTargetConfig, type DockerTargetConfig } from './config.js';
export { DockerDriver } from './docker-driver.js';
export { DockerEngine, type ContainerEvent } from './docker-engine.js';
export { TRUNCATION_MARKER } from './docker-stream.js';
export type { TargetDriver, TargetStatus, TargetStateChange, ExecOptions, ExecResult, LogLine } from './driver.js';
export { ProcessDriver, type ProcessSpec, type TargetPidFile } from './process-driver.js';
export { DRIVERS, createDriver, type DriverContext, type CreatedDriver } from './drivers.js';
export { TargetRegistry, type TargetRuntime } from './registry.js';
export { CHECK_KINDS, CheckSchema, checkEvents, checkName, parseCheck, checkPlan, nextAttemptMs, runCheck, type CheckConfig, type CheckKindName, type CheckAttempt } from './check-kinds.js';
export { defineCheckKind, type CheckKind, type CheckPlan, type ProbeContext, type ProbeOutcome, type CheckKindEvents } from './checks/check-kind.js';
export { RedisEndpointFields, redisClientOptions, parseInfo, redisHealthPct, type RedisEndpoint, type RedisCheck } from './checks/redis-check.js';
export { PostgresEndpointFields, pgClientOptions, isTooManyClients, readConnections, type PostgresEndpoint, type PostgresCheck } from './checks/postgres-check.js';
export { runBounded } from './bounded-exec.js';
export { processTree, readProc, listProcs, type ProcInfo } from './process-tree.js';
export { ChaosAgent } from './chaos-agent.js';
export {
  readProcUsage,
  listProcUsage,
  readCommand,
  measureCpu,
  readCpuNanos,
  attributeToTargets,
  ProcessCpuSampler,
  type ProcUsage,
  type ProcSample,
  type TargetRoot,
} from './process-usage.js';
export * from './errors.js';
export { ChaosEndpoints, chaosEndpoints, DataServiceFaults } from './data-service-faults.js';
export { rootCauseOf, diskUsedPct, DISK_FULL_PCT, type RootCause } from './root-cause.js';
